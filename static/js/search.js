// Extras on top of pages that already work without JavaScript:
// - search-as-you-type suggestions under every search box (/search/suggest; records no history),
// - a streamed answer over a websocket when the form has data-streaming="true",
// - "Was this helpful?" sent with fetch and thanked inline.
// Text from the server is only ever set with textContent; the one HTML string inserted is the
// answer that the server rendered and sanitised (render_markdown, nh3).
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var MIN_CHARS = 3;
  var pushed = false;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Only our own paths become links (the server sends "/articles/<slug>/").
  function localUrl(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : "#";
  }

  function categoryOf(form) {
    var field = form.querySelector('[name="category"]');
    return field && field.value ? field.value : null;
  }

  // --- Suggestions -----------------------------------------------------------------------
  function setUpSuggestions(form) {
    var input = form.querySelector('input[name="q"]');
    var box = form.querySelector(".suggestions");
    if (!input || !box) return;
    var timer = null;
    var inflight = null;
    var lastQuery = "";
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", box.id);

    function hide() {
      box.hidden = true;
      box.replaceChildren();
    }

    function show(query, items) {
      box.replaceChildren();
      if (!items.length) {
        hide();
        return;
      }
      box.appendChild(el("p", { class: "suggestions-title" }, "Suggested articles"));
      var list = el("ul", { role: "list" });
      items.forEach(function (item) {
        var link = el("a", { href: localUrl(item.url), class: "suggestion" });
        link.appendChild(el("span", { class: "suggestion-question" }, item.question));
        if (item.category) link.appendChild(el("span", { class: "suggestion-category" }, item.category));
        var li = el("li");
        li.appendChild(link);
        list.appendChild(li);
      });
      box.appendChild(list);
      box.hidden = false;
      box.setAttribute("data-query", query);
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query.length < MIN_CHARS) {
        lastQuery = "";
        hide();
        return;
      }
      if (query === lastQuery && !box.hidden) return;
      lastQuery = query;
      if (inflight) inflight.abort();
      inflight = new AbortController();
      var params = new URLSearchParams({ q: query });
      var category = categoryOf(form);
      if (category) params.set("category", category);
      fetch(form.getAttribute("data-suggest-url") + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: inflight.signal,
      })
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(function (items) {
          // A slower, older answer must not replace what the person has typed since.
          if (input.value.trim() === query) show(query, Array.isArray(items) ? items : []);
        })
        .catch(function () {
          /* aborted or offline: the form still works */
        });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") hide();
      if (event.key === "ArrowDown" && !box.hidden) {
        var first = box.querySelector("a");
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    box.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(box.querySelectorAll("a"));
      var index = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < links.length - 1) {
        event.preventDefault();
        links[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (index > 0 ? links[index - 1] : input).focus();
      } else if (event.key === "Escape") {
        input.focus();
        hide();
      }
    });
    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) hide();
    });
    form.addEventListener("submit", function () {
      clearTimeout(timer);
      if (inflight) inflight.abort();
      hide();
    });
  }

  // --- Streamed answers ------------------------------------------------------------------
  function searchUrl(form) {
    var params = new URLSearchParams();
    params.set("q", form.querySelector('input[name="q"]').value.trim());
    var category = categoryOf(form);
    if (category) params.set("category", category);
    return form.getAttribute("action") + "?" + params.toString();
  }

  function feedbackForm(token) {
    var template = document.getElementById("answer-feedback-template");
    if (!template || !token) return null;
    var area = template.content.firstElementChild.cloneNode(true);
    var field = area.querySelector("[data-response-id]");
    if (field) field.value = String(token);
    return area;
  }

  function resultList(documents) {
    var list = el("ol", { class: "results" });
    documents.forEach(function (doc) {
      var li = el("li", { class: "result" });
      li.appendChild(el("a", { class: "result-title", href: localUrl(doc.url) }, doc.question));
      if (doc.category) li.appendChild(el("span", { class: "badge" }, doc.category));
      if (doc.snippet) li.appendChild(el("p", { class: "snippet" }, doc.snippet));
      list.appendChild(li);
    });
    return list;
  }

  function renderResults(container, documents, answered, title) {
    var section = el("section", { class: "streamed-results" });
    if (!documents.length) {
      if (!answered) section.appendChild(el("p", { class: "empty" }, "No articles matched."));
      return section;
    }
    section.appendChild(el("h2", { class: "section-title" }, title || (answered ? "Articles" : "Is it one of these?")));
    section.appendChild(resultList(documents));
    return section;
  }

  // The best two articles are nearly tied (faq/near_ties.py): the customer picks, the page does not guess.
  function renderChoices(documents) {
    var card = el("section", { class: "card choices", "aria-labelledby": "choices-heading", "data-choices": "" });
    card.appendChild(el("h2", { id: "choices-heading" }, "Is it one of these?"));
    card.appendChild(el("p", {}, "Two articles match your question almost equally well."));
    card.appendChild(resultList(documents));
    return card;
  }

  function streamAnswer(form) {
    var container = document.querySelector("[data-search-results]");
    if (!container || !("WebSocket" in window)) return false;
    var query = form.querySelector('input[name="q"]').value.trim();
    if (!query) return false;
    var url = searchUrl(form);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + form.getAttribute("data-ws-path"));
    } catch (error) {
      return false;
    }
    var started = false;
    var finished = false;
    var answerCard = null;
    var answerText = null;
    var results = null;

    history.pushState({ search: url }, "", url);
    pushed = true;
    var siteName = document.querySelector('meta[name="application-name"]');
    document.title = query + " · Search results · " + (siteName ? siteName.content : "Help centre");
    document.body.classList.add("is-searching");
    container.replaceChildren(el("p", { class: "notice notice-progress" }, "Searching…"));
    container.setAttribute("data-state", "searching");
    // Screen readers hear the finished answer once, not every streamed piece.
    container.setAttribute("aria-live", "polite");
    container.setAttribute("aria-busy", "true");

    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({ query: query, category: categoryOf(form) }));
    });
    socket.addEventListener("close", function () {
      if (finished) return;
      // Nothing arrived (no websocket here): the page itself answers the same URL.
      if (!started) {
        window.location.assign(url);
        return;
      }
      var notice = el("p", { class: "notice notice-error", role: "alert" }, "The connection was lost. ");
      notice.appendChild(el("a", { href: url }, "Load the answer again"));
      container.appendChild(notice);
      container.setAttribute("data-state", "error");
      container.setAttribute("aria-busy", "false");
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      started = true;
      if (message.type === "error") {
        finished = true;
        container.replaceChildren(el("p", { class: "notice notice-error", role: "alert" }, message.message));
        container.setAttribute("data-state", "error");
        container.setAttribute("aria-busy", "false");
        socket.close();
      } else if (message.type === "documents") {
        container.replaceChildren();
        var documents = message.documents || [];
        if (message.nearly_tied) {
          container.appendChild(renderChoices(documents.slice(0, 2)));
          results = renderResults(container, documents.slice(2), true, "Other articles");
        } else if (message.answered) {
          answerCard = el("section", { class: "card answer", "aria-labelledby": "answer-heading" });
          answerCard.appendChild(el("h2", { id: "answer-heading" }, "Answer"));
          answerText = el("div", { class: "prose is-streaming", "data-answer-text": "" });
          answerCard.appendChild(answerText);
          container.appendChild(answerCard);
        }
        if (!message.nearly_tied) results = renderResults(container, documents, message.answered);
        container.appendChild(results);
        container.setAttribute("data-state", "streaming");
      } else if (message.type === "chunk" && answerText) {
        answerText.appendChild(document.createTextNode(message.text));
      } else if (message.type === "replace" && answerText) {
        answerText.textContent = message.text;
      } else if (message.type === "done") {
        finished = true;
        finish(message);
        socket.close();
      }
    });

    function finish(message) {
      if (message.answer_mode === "keyword") {
        container.insertBefore(
          el(
            "p",
            { class: "notice notice-warning", "data-keyword-only": "" },
            "Search is in keyword-only mode right now: these results match your words, not what you meant.",
          ),
          container.firstChild,
        );
      }
      if (message.nearly_tied) {
        // The choice is already on the page; a generated answer is not shown for a tie.
      } else if (message.answered && answerText) {
        // Rendered from Markdown and sanitised by the server (nh3 allow-list): safe to insert.
        answerText.innerHTML = message.html;
        answerText.classList.remove("is-streaming");
        if (message.sources && message.sources.length) {
          var sources = el("p", { class: "sources" }, "From: ");
          message.sources.forEach(function (doc, i) {
            if (i) sources.appendChild(document.createTextNode(", "));
            sources.appendChild(el("a", { href: localUrl(doc.url) }, doc.question));
          });
          answerCard.appendChild(sources);
        }
        var feedback = feedbackForm(message.feedback_token);
        if (feedback) answerCard.appendChild(feedback);
      } else {
        var card = el("section", { class: "card no-answer", "aria-labelledby": "no-answer-heading" });
        card.appendChild(el("h2", { id: "no-answer-heading" }, "No answer found"));
        card.appendChild(el("p", {}, message.text));
        // A search limited to one topic may have its answer in another: never a dead end.
        if (categoryOf(form)) {
          var everywhere = el("p");
          var all = "/search?q=" + encodeURIComponent(query);
          everywhere.appendChild(el("a", { class: "button", href: all, "data-search-all": "" }, "Search all categories"));
          card.appendChild(everywhere);
        }
        var contact = el("p");
        contact.appendChild(el("a", { class: "button", href: message.contact_url }, "Contact support"));
        card.appendChild(contact);
        container.insertBefore(card, results);
      }
      container.setAttribute("data-state", "done");
      container.setAttribute("aria-busy", "false");
      container.setAttribute("data-answer-mode", message.answer_mode || "");
    }
    return true;
  }

  // --- Feedback ----------------------------------------------------------------------------
  function sendFeedback(form, submitter) {
    var status = form.querySelector("[data-feedback-status]");
    var data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) {
      button.disabled = true;
    });
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { error: "Your feedback could not be sent. Please try again." };
          })
          .then(function (body) {
            if (!response.ok) throw new Error(body.error || "Your feedback could not be sent.");
            return body;
          });
      })
      .then(function (body) {
        // The server sends the area as it now is (thanks, and after a "No" what they were looking
        // for); focus moves to it so keyboard and screen-reader users stay where they were.
        var area = form.closest("[data-feedback]");
        var holder = document.createElement("div");
        holder.innerHTML = body.html || "";
        var fresh = holder.firstElementChild;
        if (area && fresh) {
          area.replaceWith(fresh);
          fresh.focus();
        } else if (status) {
          status.textContent = body.message || "Thanks for your feedback!";
        }
      })
      .catch(function (error) {
        buttons.forEach(function (button) {
          button.disabled = false;
        });
        if (status) status.textContent = error.message;
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("[data-feedback-form]")) {
      event.preventDefault();
      sendFeedback(form, event.submitter);
    } else if (form.matches("[data-search-form]") && form.getAttribute("data-streaming") === "true") {
      if (streamAnswer(form)) event.preventDefault();
    }
  });

  // The streamed page changed the URL; going back or forward loads what that URL shows.
  window.addEventListener("popstate", function (event) {
    if (pushed || (event.state && event.state.search)) window.location.reload();
  });

  function init() {
    document.querySelectorAll("[data-search-form]").forEach(setUpSuggestions);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
