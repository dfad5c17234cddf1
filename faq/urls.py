from __future__ import annotations

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from faq import feedback, views
from faq.sitemaps import SITEMAPS

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("search/suggest", views.suggest, name="search-suggest"),
    # Slugs are always [-a-zA-Z0-9_] (SlugField, slugify on import): anything else, NUL included,
    # is a 404 before it reaches the database.
    path("categories/<slug:slug>/", views.category, name="category"),
    path("articles/<slug:slug>/", views.article, name="article"),
    path("feedback", feedback.feedback, name="feedback"),
    # A stored answer by its signed token (faq/feedback.py): where "Was this helpful?" returns.
    path("answers/<str:token>/", feedback.answer, name="answer"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
]
