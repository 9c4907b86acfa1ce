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

  function config() { return document.getElementById("desk-config"); }

  function counter(delta) {
    var el = document.querySelector(".alert-counter .count");
    if (!el) return;
    var n = Math.max(0, parseInt(el.dataset.count || "0", 10) + delta);
    el.dataset.count = String(n);
    el.textContent = String(n);
  }

  function toast(alert) {
    var box = document.getElementById("toasts");
    var cfg = config();
    if (!box || !cfg) return;
    var div = document.createElement("div");
    div.className = "toast " + (alert.level || "");
    div.setAttribute("role", "status");
    var text = document.createElement("div");
    text.textContent = alert.title || "";
    div.appendChild(text);
    if (alert.case) {
      var link = document.createElement("a");
      link.href = cfg.dataset.caseUrl.replace("/0/", "/" + alert.case + "/");
      link.textContent = cfg.dataset.openLabel + " " + (alert.case_number || "");
      div.appendChild(link);
    }
    box.appendChild(div);
    setTimeout(function () { div.remove(); }, 15000);
  }

  function ack(id) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({type: "ack", id: id}));
  }

  function receive(alert) {
    // Sent again: the server has no acknowledgement of it (the socket closed before it
    // went out), and would otherwise send it in every backlog.
    if (known[alert.id]) { ack(alert.id); return; }
    known[alert.id] = true;
    lastId = Math.max(lastId || 0, alert.id);
    counter(1);
    toast(alert);
    var list = document.getElementById("live-alerts");
    if (list) {
      var li = document.createElement("li");
      li.className = "unread " + (alert.level || "");
      li.textContent = alert.title || "";
      list.insertBefore(li, list.firstChild);
    }
    ack(alert.id);
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
      if (message.type === "backlog") message.alerts.forEach(receive);
      else if (message.type === "alert") receive(message);
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

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-add-party]")) { event.preventDefault(); addParty(); }
    var all = event.target.closest("[data-select-all]");
    if (all) document.querySelectorAll("input[name=case]").forEach(function (box) { box.checked = all.checked; });
  });

  function start() { connect(); countdowns(); }
  document.addEventListener("turbo:load", start);
  document.addEventListener("DOMContentLoaded", start);
  setInterval(countdowns, 30000);
  setInterval(sync, SYNC_SECONDS * 1000);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") sync(); });
  window.addEventListener("online", sync);
})();
