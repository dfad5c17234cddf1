"""/sitemap.xml: only what anyone may read (published, public articles and their categories)."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from faq.models import Category, FaqDocument


class ArticleSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        # visible_to(None): what an anonymous visitor (a search engine) may see, nothing more.
        return FaqDocument.objects.visible_to(None).only("slug", "updated_at").order_by("pk")

    def lastmod(self, document: FaqDocument):
        return document.updated_at


class CategorySitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        public = FaqDocument.objects.visible_to(None).filter(category__isnull=False).order_by().values("category")
        return Category.objects.filter(pk__in=public).order_by("order", "name")

    def location(self, category: Category) -> str:
        return reverse("category", kwargs={"slug": category.slug})


SITEMAPS = {"categories": CategorySitemap, "articles": ArticleSitemap}
