// Progressive enhancement of the dashboard's red flag list: the list is rendered on the server; where the
// browser has EventSource, new flags arrive live from the audit service's SSE stream through the gateway.
(function () {
  "use strict";
  var section = document.querySelector("[data-stream]");
  if (!section || !("EventSource" in window)) return;
  var list = section.querySelector("[data-flag-list]");
  var status = section.querySelector("[data-live-status]");
  var labels = {};
  try { labels = JSON.parse(section.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
  var lang = section.getAttribute("data-lang") === "en" ? "en-GB" : "id-ID";
  var prefix = section.getAttribute("data-prefix");
  var when = new Intl.DateTimeFormat(lang, {
    timeZone: "Asia/Jakarta", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hour12: false
  });
  var source = new EventSource(section.getAttribute("data-stream"));
  source.onopen = function () {
    if (status) status.textContent = status.getAttribute("data-on");
    section.setAttribute("data-live", "on");
  };
  source.addEventListener("red_flag", function (message) {
    var flag;
    try { flag = JSON.parse(message.data); } catch (e) { return; }
    var item = document.createElement("li");
    item.className = "flag new";
    item.setAttribute("data-flag-id", String(flag.id));
    var kind = document.createElement("strong");
    kind.textContent = labels[flag.kind] || flag.kind;
    var time = document.createElement("time");
    time.setAttribute("datetime", flag.raised_at);
    time.textContent = when.format(new Date(flag.raised_at)).replace(/\./g, ":") + " WIB";
    item.appendChild(kind);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(time);
    if (flag.package_id) {
      var link = document.createElement("a");
      link.href = prefix + "/pengumuman/" + encodeURIComponent(flag.package_id);
      link.textContent = section.getAttribute("data-package-label") + " " + flag.package_id;
      item.appendChild(link);
    }
    var text = document.createElement("p");
    text.textContent = flag.explanation;
    item.appendChild(text);
    list.insertBefore(item, list.firstChild);
    var empty = section.querySelector("[data-flag-empty]");
    if (empty) empty.remove();
  });
})();
