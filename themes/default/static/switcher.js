// Version switcher: lists every published wave of the study (from versions.js,
// which is rewritten when a wave is added) and keeps the reader on the same page.
// The page is complete without this script; it only adds waves published later.
(function () {
  "use strict";
  var data = window.CSI_VERSIONS;
  var nav = document.querySelector("nav.versions");
  if (!data || !data.waves || !nav) {
    return;
  }
  var current = nav.getAttribute("data-wave");
  var page = nav.getAttribute("data-page");
  var list = nav.querySelector("ul");
  function href(wave) {
    var target = wave.pages && wave.pages.indexOf(page) >= 0 ? page : "index.html";
    return "../" + encodeURIComponent(wave.id) + "/" + target;
  }
  while (list.firstChild) {
    list.removeChild(list.firstChild);
  }
  if (data.waves.length > 8) {
    // Many waves: one drop-down instead of a row of links.
    var select = document.createElement("select");
    select.setAttribute("aria-label", nav.getAttribute("aria-label") || "");
    data.waves.forEach(function (wave) {
      var option = document.createElement("option");
      option.value = href(wave);
      option.textContent = wave.label;
      option.selected = wave.id === current;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      window.location.href = select.value;
    });
    var item = document.createElement("li");
    item.appendChild(select);
    list.appendChild(item);
  }
  data.waves.forEach(function (wave) {
    if (data.waves.length > 8) {
      return;
    }
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = href(wave);
    link.textContent = wave.label;
    if (wave.id === current) {
      link.className = "current";
      link.setAttribute("aria-current", "page");
    }
    item.appendChild(link);
    list.appendChild(item);
  });
  if (data.latest && data.latest !== current) {
    var latest = data.waves[data.waves.length - 1];
    var note = document.createElement("p");
    note.className = "newer-wave";
    var link = document.createElement("a");
    link.href = href(latest);
    link.textContent = latest.label;
    note.appendChild(document.createTextNode(data.newer + " "));
    note.appendChild(link);
    var main = document.querySelector("main");
    if (main) {
      main.insertBefore(note, main.firstChild);
    }
  }
})();
