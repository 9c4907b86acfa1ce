/* Live alerts and countdowns. Loaded once in the page head: Turbo keeps it across
   navigations, so the socket stays open while the body is swapped. */
(function () {
  "use strict";
  // A push the channel layer loses (Redis frozen or restarted) leaves the socket open, so
  // an open page asks for what it missed now and then; the alert would also show in the
  // page's list on the next navigation. The server answers one sync per 10 s per socket
  // (SYNC_MIN_SECONDS in notifications/consumers.py, its backlog on connect included);
  // a little more here, so network jitter never gets a sync refused.
  var SYNC_SECONDS = 60, SYNC_MIN_SECONDS = 15;
  var socket = null, retry = 1000, lastId = null, known = {}, lastSync = 0;

  // More new alerts than this at once show as one toast that counts them.
  var TOAST_GROUP = 3, TOAST_SECONDS = 15;
  // pageLast: the newest alert the page was rendered with. Alerts up to it are already in
  // the page's bell and list; only newer ones arrived while the page was open.
  var pageLast = 0, fresh = [], flushTimer = null;

  function config() { return document.getElementById("desk-config"); }

  function setCounter(n) {
    var el = document.querySelector(".alert-counter .count");
    if (!el) return;
    el.dataset.count = String(n);
    el.textContent = String(n);
  }

  function counter(delta) {
    var el = document.querySelector(".alert-counter .count");
    if (el) setCounter(Math.max(0, parseInt(el.dataset.count || "0", 10) + delta));
  }

  function toast(title, level, href, label) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "toast " + (level || "");
    div.setAttribute("role", "status");
    var text = document.createElement("div");
    text.textContent = title || "";
    div.appendChild(text);
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = label;
      div.appendChild(link);
    }
    box.appendChild(div);
    // The oldest goes first when more pile up than one group toast would show.
    while (box.children.length > TOAST_GROUP) box.removeChild(box.firstChild);
    setTimeout(function () { div.remove(); }, TOAST_SECONDS * 1000);
  }

  function flushToasts() {
    flushTimer = null;
    var cfg = config(), alerts = fresh;
    fresh = [];
    if (!cfg || !alerts.length) return;
    if (alerts.length > TOAST_GROUP) {
      var worst = alerts.some(function (a) { return a.level === "overdue" || a.level === "escalated"; }) ? "overdue" : "";
      toast(cfg.dataset.manyAlerts.replace("__n__", String(alerts.length)), worst, cfg.dataset.alertsUrl, cfg.dataset.allLabel);
      return;
    }
    alerts.forEach(function (alert) {
      toast(alert.title, alert.level, alert.case ? cfg.dataset.caseUrl.replace("/0/", "/" + alert.case + "/") : null,
            cfg.dataset.openLabel + " " + (alert.case_number || ""));
    });
  }

  function ack(id) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({type: "ack", id: id}));
  }

  // An alert from a push or a backlog. Returns true when it is news to this page.
  function receive(alert) {
    // Sent again: the server has no acknowledgement of it (the socket closed before it
    // went out), and would otherwise send it in every backlog.
    if (known[alert.id]) { ack(alert.id); return false; }
    known[alert.id] = true;
    lastId = Math.max(lastId || 0, alert.id);
    ack(alert.id);
    if (alert.id <= pageLast) return false;  // rendered with the page: in its bell and list
    fresh.push(alert);
    if (!flushTimer) flushTimer = setTimeout(flushToasts, 300);
    var list = document.getElementById("live-alerts");
    if (list) {
      var li = document.createElement("li");
      li.className = "unread " + (alert.level || "");
      li.textContent = alert.title || "";
      list.insertBefore(li, list.firstChild);
    }
    return true;
  }

  function receiveBacklog(message) {
    message.alerts.forEach(receive);
    // The server's count of unread alerts: the bell equals the database after every
    // backlog, whatever was read or arrived in another tab meanwhile.
    if (typeof message.unread === "number") setCounter(message.unread);
  }

  function sync() {
    if (!socket || socket.readyState !== 1 || performance.now() - lastSync < SYNC_MIN_SECONDS * 1000) return;
    lastSync = performance.now();
    socket.send(JSON.stringify({type: "sync", after: lastId}));
  }

  function connect() {
    var cfg = config();
    if (!cfg || socket) return;
    if (lastId === null) lastId = parseInt(cfg.dataset.lastAlert || "0", 10);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/alerts/?after=" + lastId);
    socket.onopen = function () {
      retry = 1000;
      lastSync = performance.now();  // the backlog on connect is as good as a sync
      document.documentElement.dataset.alerts = "live";
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "backlog") receiveBacklog(message);
      else if (message.type === "alert" && receive(message)) counter(1);
    };
    socket.onclose = function (event) {
      socket = null;
      document.documentElement.dataset.alerts = "offline";
      if (event.code === 4401) return;  // signed out: the login page follows
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function countdowns() {
    var cfg = config();
    if (!cfg) return;
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var ms = Date.parse(el.dataset.due) - now, late = ms < 0;
      ms = Math.abs(ms);
      var days = Math.floor(ms / 86400000), hours = Math.floor(ms % 86400000 / 3600000),
          minutes = Math.floor(ms % 3600000 / 60000);
      var span = days > 0 ? days + cfg.dataset.days + hours + cfg.dataset.hours
                          : hours + cfg.dataset.hours + pad(minutes) + cfg.dataset.minutes;
      el.textContent = (late ? cfg.dataset.late : cfg.dataset.left) + " " + span;
      el.classList.toggle("late", late);
    });
  }

  function addParty() {
    var template = document.getElementById("party-template");
    var total = document.getElementById("id_parties-TOTAL_FORMS");
    if (!template || !total) return;
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
    document.getElementById("party-forms").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
  }

  // Intake: the fields of a petition only while the kind chosen is a petition.
  function kindFields() {
    var kind = document.querySelector(".desk-form select[name=kind]");
    if (!kind) return;
    document.querySelectorAll("[data-kind-only]").forEach(function (el) {
      el.hidden = el.dataset.kindOnly !== kind.value;
    });
  }

  // Characters typed out of a text field's limit, counted as the server counts them
  // (code points: a rare character outside the BMP is one, not two).
  function countChars(el) {
    var input = document.getElementById(el.dataset.counterFor);
    if (!input) return;
    var n = Array.from(input.value).length, max = parseInt(el.dataset.max, 10);
    el.textContent = n + " / " + max;
    el.classList.toggle("full", n >= max);
  }

  document.addEventListener("input", function (event) {
    var el = event.target.id && document.querySelector('[data-counter-for="' + event.target.id + '"]');
    if (el) countChars(el);
  });
  document.addEventListener("change", function (event) {
    if (event.target.name === "kind") kindFields();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-add-party]")) { event.preventDefault(); addParty(); }
    var all = event.target.closest("[data-select-all]");
    if (all) document.querySelectorAll("input[name=case]").forEach(function (box) { box.checked = all.checked; });
  });

  function start() {
    var cfg = config();
    if (cfg) pageLast = Math.max(pageLast, parseInt(cfg.dataset.lastAlert || "0", 10));
    connect();
    countdowns();
    kindFields();
    if (window.matchMedia("(min-width: 700px)").matches) {
      document.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
    }
    document.querySelectorAll("[data-counter-for]").forEach(countChars);
  }
  document.addEventListener("turbo:load", start);
  document.addEventListener("DOMContentLoaded", start);
  // Loaded late: the login page has no desk.js, so after logging in Turbo adds this script
  // to the head of the page it lands on, after that page's load events.
  if (document.readyState !== "loading") start();
  setInterval(countdowns, 30000);
  setInterval(sync, SYNC_SECONDS * 1000);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") sync(); });
  window.addEventListener("online", sync);
})();
