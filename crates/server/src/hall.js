// The reception hall's pages (TV, phone, kiosk, ticket): plain script, no framework.
"use strict";
(function () {
  const body = document.body;
  const hall = body.dataset.hall;
  const kind = body.dataset.page;
  const $ = (id) => document.getElementById(id);
  const say = (text) => {
    // The browser's own speech synthesis: works offline with an installed Vietnamese voice.
    if (!("speechSynthesis" in window)) return;
    const u = new SpeechSynthesisUtterance(text.replace(/-0*/, " "));
    u.lang = "vi-VN";
    const vi = speechSynthesis.getVoices().find((v) => v.lang && v.lang.toLowerCase().startsWith("vi"));
    if (vi) u.voice = vi;
    speechSynthesis.speak(u);
  };
  const status = (t) => { const s = $("status"); if (s) s.textContent = t; };
  const post = (url, data) => fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(data || {}),
  }).then((r) => r.json().then((j) => ({ ok: r.ok, j })));

  function renderState(s) {
    const calls = $("calls");
    if (calls) {
      calls.replaceChildren(...s.last_calls.map((c) => {
        const li = document.createElement("li");
        li.textContent = c.text;
        return li;
      }));
    }
    const areas = $("areas");
    if (areas) {
      areas.replaceChildren(...s.areas.map((a) => {
        const d = document.createElement("div");
        d.className = "area";
        const b = document.createElement("b");
        b.textContent = a.waiting;
        d.append(b, document.createTextNode(" đang chờ — " + a.letter + " " + a.name));
        return d;
      }));
    }
  }

  function listen(onEvent) {
    const es = new EventSource("/api/v1/halls/" + hall + "/events");
    es.onopen = () => status("");
    es.onerror = () => status("Mất kết nối, đang kết nối lại…");
    es.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { /* ignore */ } };
    return es;
  }

  // Runs `f` once, `delay` ms after the first of a burst of calls: events that come together
  // cost one request.
  function coalesce(f, delay) {
    let timer = null;
    return () => {
      if (timer) return;
      timer = setTimeout(() => { timer = null; f(); }, delay());
    };
  }

  if (kind === "tv") {
    const reload = coalesce(() => fetch("/api/v1/halls/" + hall + "/state").then((r) => r.json())
      .then((s) => renderState(s)), () => 300);
    listen((e) => {
      if (e.type === "state") { renderState(e); return; }
      if (e.type === "called" && e.text) say(e.text);
      if (e.type === "called" || e.type === "issued" || e.type === "updated") reload();
    });
    return;
  }

  function follow(ticket) {
    const key = "motcua-ticket-" + hall;
    localStorage.setItem(key, JSON.stringify(ticket));
    $("choose").hidden = true;
    $("mine").hidden = false;
    $("number").textContent = ticket.number;
    const where = $("where");
    const refresh = () => fetch("/api/v1/halls/tickets/" + ticket.id + "/position").then((r) => r.json()).then((p) => {
      if (p.status === "called" && p.text) { where.textContent = p.text; if (navigator.vibrate) navigator.vibrate(500); }
      else if (p.status === "waiting") { where.textContent = "Còn " + p.ahead + " người trước bạn, khoảng " + p.estimated_wait_minutes + " phút"; }
      else { where.textContent = "Trạng thái: " + p.status; }
    });
    refresh();
    // Another citizen's number moving changes this one's place a little: hundreds of phones
    // ask again spread over a few seconds, not all in the same instant.
    const later = coalesce(refresh, () => 500 + Math.random() * 2500);
    listen((e) => {
      if (e.type === "state") { refresh(); return; }
      if (e.ticket && e.ticket.id === ticket.id && e.type === "called") {
        where.textContent = e.text; if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
      } else if (e.ticket && e.ticket.id === ticket.id) { refresh(); } else { later(); }
    });
  }

  if (kind === "phone" || kind === "kiosk") {
    if (kind === "phone") {
      const saved = localStorage.getItem("motcua-ticket-" + hall);
      if (saved) {
        try {
          const t = JSON.parse(saved);
          if (t.id && t.id.indexOf("-" + new Date().toISOString().slice(2, 10).replace(/-/g, "") + "-") > 0) { follow(t); }
        } catch (e) { /* a new number then */ }
      }
    }
    document.querySelectorAll("button[data-area]").forEach((b) => b.addEventListener("click", () => {
      b.disabled = true;
      post("/api/v1/halls/" + hall + "/take", { area: b.dataset.area, channel: kind === "kiosk" ? "kiosk" : "qr" })
        .then(({ ok, j }) => {
          b.disabled = false;
          if (!ok) { status(j.detail || "Không lấy được số"); return; }
          if (kind === "kiosk") { window.location = "/sanh/ve/" + j.id + "?in=1"; } else { follow(j); }
        })
        .catch(() => { b.disabled = false; status("Không kết nối được máy chủ"); });
    }));
    return;
  }

  if (kind === "tablet") {
    // The counter's tablet: follows the counter's last finished ticket, offers the ratings once.
    const counter = Number(body.dataset.counter);
    const message = (t) => { $("tablet-message").textContent = t; };
    let current = null;
    // The ticket this tablet has just rated: its thanks stay on screen.
    let rated = null;
    const waiting = () => { current = null; $("tablet-rate").hidden = true; $("tablet-wait").hidden = false; };
    const offer = (t) => {
      if (!t || t.status !== "done") { waiting(); return; }
      if (t.rating) {
        if (t.id !== rated && (current === t.id || current === null)) { waiting(); message("Số " + t.number + " đã được đánh giá."); }
        return;
      }
      if (current === t.id) return;
      current = t.id;
      message("");
      $("tablet-number").textContent = t.number;
      $("tablet-comment").value = "";
      $("tablet-wait").hidden = true;
      $("tablet-rate").hidden = false;
    };
    // The server says which ticket the counter finished last: asked on (re)connecting and
    // whenever one of the counter's tickets changes.
    const load = () => fetch("/api/v1/halls/" + hall + "/counters/" + counter + "/last-finished")
      .then((r) => r.json()).then((j) => offer(j.ticket)).catch(() => status("Không kết nối được máy chủ"));
    listen((e) => {
      if (e.type === "state" || (e.type === "updated" && e.ticket && e.ticket.counter === counter)) load();
    });
    document.querySelectorAll("button[data-rating]").forEach((b) => b.addEventListener("click", () => {
      const id = current;
      if (!id) return;
      const number = $("tablet-number").textContent;
      const comment = $("tablet-comment").value.trim();
      const data = { rating: b.dataset.rating };
      if (comment) data.comment = comment;
      post("/api/v1/halls/tickets/" + id + "/rating", data).then(({ ok, j }) => {
        if (ok) { rated = id; waiting(); message("Cảm ơn ông/bà đã đánh giá số " + number + "."); }
        else if (j.type && j.type.endsWith("/already-rated")) { waiting(); message("Số " + number + " đã được đánh giá."); }
        else { message(j.detail || "Không gửi được đánh giá"); }
      }).catch(() => message("Không kết nối được máy chủ"));
    }));
    return;
  }

  if (kind === "ticket") {
    const p = $("print");
    if (p) p.addEventListener("click", () => window.print());
    document.querySelectorAll("button[data-rating]").forEach((b) => b.addEventListener("click", () => {
      post("/api/v1/halls/tickets/" + body.dataset.ticket + "/rating", { rating: b.dataset.rating })
        .then(({ ok, j }) => { $("rate").textContent = ok ? "Cảm ơn ông/bà đã đánh giá." : (j.detail || "Không gửi được"); });
    }));
    if (new URLSearchParams(window.location.search).get("in") === "1") window.print();
  }
})();
