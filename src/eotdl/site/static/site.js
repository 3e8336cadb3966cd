/* eotdl site: search and filters on the home page, maps, snippet URLs and copy buttons.
   Vanilla JS, no framework; every page works without it (the lists are plain HTML). */
(function () {
  "use strict";

  var PLACEHOLDER = "http://127.0.0.1:8000/";
  var SPLIT_COLOURS = { train: "#2563eb", training: "#2563eb", validation: "#d97706", validate: "#d97706", val: "#d97706",
    test: "#9333ea", none: "#0b6e99" };
  var LEVELS = { Q0: 0, Q1: 1, Q2: 2, Q3: 3 };

  function siteRoot() {
    var meta = document.querySelector('meta[name="eotdl-root"]');
    return new URL(meta ? meta.content : "./", location.href);
  }

  /* -- snippets: the real URL, and a copy button ---------------------------------------- */
  function fillSiteUrls() {
    if (!/^https?:$/.test(location.protocol)) return;
    var root = siteRoot().href;
    document.querySelectorAll("[data-site-url]").forEach(function (el) {
      if (el.textContent.indexOf(PLACEHOLDER) >= 0) el.textContent = el.textContent.split(PLACEHOLDER).join(root);
    });
  }

  function copyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        navigator.clipboard.writeText(source ? source.textContent : "").then(function () {
          button.textContent = "Copied";
          button.classList.add("done");
          setTimeout(function () { button.textContent = "Copy"; button.classList.remove("done"); }, 1600);
        });
      });
    });
  }

  /* -- maps ------------------------------------------------------------------------------ */
  function baseMap(el, options) {
    var map = L.map(el, Object.assign({ worldCopyJump: true, preferCanvas: true, minZoom: 1 }, options || {}));
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    }
    var style = { color: "#8aa0b5", weight: 0.6, opacity: 0.6, interactive: false, dashArray: "3 4" };
    for (var lon = -180; lon <= 180; lon += 30) L.polyline([[-85, lon], [85, lon]], style).addTo(map);
    for (var lat = -60; lat <= 60; lat += 30) L.polyline([[lat, -180], [lat, 180]], style).addTo(map);
    L.polyline([[0, -180], [0, 180]], Object.assign({}, style, { dashArray: null, opacity: 0.8 })).addTo(map);
    map.setView([20, 0], 2);
    el.eotdlMap = map; /* for tests and the console; never read by this script */
    return map;
  }

  /* Tooltips get text nodes: ids and titles come from the lab and must never be HTML. */
  function tip(text) {
    var span = document.createElement("span");
    span.textContent = String(text);
    return span;
  }

  /* A footprint's tooltip: its preview (when it has one) above its id; no HTML from the lab. */
  function previewTip(text, preview, objects) {
    var box = document.createElement("span");
    box.className = "map-tip";
    if (preview) {
      var img = document.createElement("img");
      img.src = /^https?:\/\//.test(preview) ? preview : objects + preview;
      img.alt = "";
      img.width = 96;
      img.height = 96;
      box.appendChild(img);
    }
    box.appendChild(tip(text));
    return box;
  }

  function itemHref(base, id, pages) {
    return base + encodeURIComponent(id) + (pages ? ".html" : ".json");
  }

  function footprintsMap(el) {
    var map = baseMap(el);
    var legend = document.getElementById("map-legend");
    fetch(el.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (data) {
      var renderer = L.canvas({ padding: 0.3 });
      var bounds = L.latLngBounds([]);
      var counts = {};
      var base = el.getAttribute("data-items") || "items/";
      var objects = el.getAttribute("data-objects") || "";
      if (data.kind === "grid") {
        var top = Math.max.apply(null, data.cells.map(function (c) { return c[4]; }).concat([1]));
        data.cells.forEach(function (c) {
          var b = [[c[1], c[0]], [c[3], c[2]]];
          L.rectangle(b, { renderer: renderer, weight: 0.5, color: "#0b6e99", fillOpacity: 0.15 + 0.7 * Math.log(1 + c[4]) / Math.log(1 + top) })
            .bindTooltip(tip(c[4] + " items")).addTo(map);
          bounds.extend(L.latLngBounds(b));
        });
        el.setAttribute("data-drawn", String(data.cells.length));
      } else {
        data.items.forEach(function (row) {
          var split = row[5] || "none";
          counts[split] = (counts[split] || 0) + 1;
          var colour = SPLIT_COLOURS[split] || "#0f8b7f";
          var b = [[row[2], row[1]], [row[4], row[3]]];
          var shape = (row[1] === row[3] && row[2] === row[4])
            ? L.circleMarker([row[2], row[1]], { renderer: renderer, radius: 4, color: colour, weight: 1, fillOpacity: 0.6 })
            : L.rectangle(b, { renderer: renderer, color: colour, weight: 1, fillOpacity: 0.25 });
          shape.on("click", function () { location.href = itemHref(base, row[0], data.pages); });
          shape.bindTooltip(previewTip(row[0] + (row[5] ? " · " + row[5] : ""), row[6], objects));
          shape.addTo(map);
          bounds.extend(L.latLngBounds(b));
        });
        el.setAttribute("data-drawn", String(data.items.length));
        if (legend && Object.keys(counts).length) {
          legend.textContent = "";
          Object.keys(counts).sort().forEach(function (split) {
            var span = document.createElement("span");
            var swatch = document.createElement("span");
            swatch.className = "swatch";
            swatch.style.background = SPLIT_COLOURS[split] || "#0f8b7f";
            span.appendChild(swatch);
            span.appendChild(document.createTextNode(split + ": " + counts[split].toLocaleString()));
            legend.appendChild(span);
          });
        }
      }
      if (bounds.isValid()) map.fitBounds(bounds.pad(0.15), { maxZoom: 14 });
    }).catch(function () { el.setAttribute("data-drawn", "error"); });
  }

  function itemMap(el) {
    var map = baseMap(el);
    fetch(el.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (item) {
      if (!item.geometry) return;
      var layer = L.geoJSON(item.geometry, { style: { color: "#0b6e99", weight: 2, fillOpacity: 0.2 } }).addTo(map);
      map.fitBounds(layer.getBounds().pad(0.5), { maxZoom: 15 });
      el.setAttribute("data-drawn", "1");
    }).catch(function () { el.setAttribute("data-drawn", "error"); });
  }

  function changesMap(el) {
    var map = baseMap(el);
    var colors = { added: "#059669", removed: "#c2410c", changed: "#b45309" };
    fetch(el.getAttribute("data-src")).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) { return { color: colors[f.properties.change] || "#0b6e99", weight: 1.5, fillOpacity: 0.3 }; },
        onEachFeature: function (f, shape) { shape.bindTooltip(f.properties.change + ": " + f.properties.id); }
      }).addTo(map);
      if (data.features.length) map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 15 });
      else map.setView([20, 0], 1);
      el.setAttribute("data-drawn", String(data.features.length));
    }).catch(function () { el.setAttribute("data-drawn", "error"); });
  }

  /* -- home: text, facets and area search over search-index.json ------------------------- */
  function parseBbox(text) {
    var parts = String(text || "").split(/[\s,;]+/).filter(Boolean).map(Number);
    if (parts.length !== 4 || parts.some(isNaN)) return null;
    if (parts[0] > parts[2] || parts[1] > parts[3]) return null;
    return parts;
  }

  function intersects(a, b) {
    return !!a && !!b && a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
  }

  function homeSearch(form) {
    var grid = document.getElementById("dataset-grid");
    var cards = {};
    grid.querySelectorAll(".card").forEach(function (card) { cards[card.getAttribute("data-id")] = card; });
    var total = Object.keys(cards).length;
    var count = document.getElementById("result-count");
    var none = document.getElementById("no-results");
    var fields = { q: "q", task: "f-task", kind: "f-kind", license: "f-license", level: "f-level",
      from: "f-from", to: "f-to", bbox: "bbox" };
    var inputs = {};
    Object.keys(fields).forEach(function (k) { inputs[k] = document.getElementById(fields[k]); });
    var rows = [];
    var map = null, drawn = null, extents = null;

    fetch(new URL("search-index.json", siteRoot())).then(function (r) { return r.json(); }).then(function (index) {
      rows = index.rows.map(function (row) {
        var o = {};
        index.fields.forEach(function (f, i) { o[f] = row[i]; });
        return o;
      }).filter(function (o) { return o.group === "datasets"; });
      form.hidden = false;
      var params = new URLSearchParams(location.search);
      Object.keys(inputs).forEach(function (k) { if (params.get(k)) inputs[k].value = params.get(k); });
      if (params.get("bbox")) openMap();
      apply(false);
      document.body.setAttribute("data-search-ready", "1");
    }).catch(function () { document.body.setAttribute("data-search-ready", "error"); });

    function apply(remember) {
      var words = inputs.q.value.toLowerCase().split(/\s+/).filter(Boolean);
      var box = parseBbox(inputs.bbox.value);
      var minLevel = inputs.level.value ? LEVELS[inputs.level.value] : -1;
      var shown = 0;
      rows.forEach(function (o) {
        var ok = words.every(function (w) { return o.text.indexOf(w) >= 0; })
          && (!inputs.task.value || (o.tasks || []).indexOf(inputs.task.value) >= 0)
          && (!inputs.kind.value || o.kind === inputs.kind.value)
          && (!inputs.license.value || o.license === inputs.license.value)
          && (minLevel < 0 || (o.level in LEVELS && LEVELS[o.level] >= minLevel))
          && (!box || intersects(o.bbox, box))
          && (!inputs.from.value || !o.end || o.end.slice(0, 10) >= inputs.from.value)
          && (!inputs.to.value || !o.start || o.start.slice(0, 10) <= inputs.to.value);
        var card = cards[o.group + "/" + o.id];
        if (card) card.hidden = !ok;
        if (ok) shown += 1;
      });
      count.textContent = shown === total ? total.toLocaleString() + " datasets"
        : shown.toLocaleString() + " of " + total.toLocaleString() + " datasets";
      none.hidden = shown > 0 || total === 0;
      if (remember) {
        var params = new URLSearchParams();
        Object.keys(inputs).forEach(function (k) { if (inputs[k].value) params.set(k, inputs[k].value); });
        var query = params.toString();
        history.replaceState(null, "", query ? "?" + query : location.pathname);
      }
    }

    function showBox(box) {
      if (!map) return;
      if (drawn) { map.removeLayer(drawn); drawn = null; }
      if (box) drawn = L.rectangle([[box[1], box[0]], [box[3], box[2]]], { color: "#e11d48", weight: 2, fillOpacity: 0.08, interactive: false }).addTo(map);
    }

    function openMap() {
      var panel = document.getElementById("map-panel");
      panel.hidden = false;
      document.getElementById("toggle-map").setAttribute("aria-expanded", "true");
      if (map || typeof L === "undefined") return;
      map = baseMap(document.getElementById("search-map"));
      extents = L.layerGroup().addTo(map);
      rows.forEach(function (o) {
        if (!o.bbox) return;
        L.rectangle([[o.bbox[1], o.bbox[0]], [o.bbox[3], o.bbox[2]]], { color: "#0b6e99", weight: 1, fillOpacity: 0.1 })
          .bindTooltip(tip(o.title)).on("click", function () { location.href = new URL(o.url, siteRoot()).href; })
          .addTo(extents);
      });
      showBox(parseBbox(inputs.bbox.value));
      setupDrawing();
    }

    function setupDrawing() {
      var button = document.getElementById("draw");
      var drawing = false, start = null;
      button.addEventListener("click", function () {
        drawing = !drawing;
        button.classList.toggle("active", drawing);
        button.textContent = drawing ? "Drag on the map…" : "Draw a box";
        if (drawing) map.dragging.disable(); else map.dragging.enable();
      });
      map.on("mousedown", function (e) {
        if (!drawing) return;
        start = e.latlng;
      });
      map.on("mousemove", function (e) {
        if (!drawing || !start) return;
        var b = L.latLngBounds(start, e.latlng);
        showBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
      });
      map.on("mouseup", function (e) {
        if (!drawing || !start) return;
        var b = L.latLngBounds(start, e.latlng);
        start = null;
        drawing = false;
        map.dragging.enable();
        button.classList.remove("active");
        button.textContent = "Draw a box";
        var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return Math.round(v * 1000) / 1000; });
        inputs.bbox.value = box.join(", ");
        showBox(box);
        apply(true);
      });
    }

    form.addEventListener("input", function (e) {
      if (e.target === inputs.bbox) showBox(parseBbox(inputs.bbox.value));
      apply(true);
    });
    form.addEventListener("change", function () { apply(true); });
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(true); });
    function clear() {
      setTimeout(function () { form.reset(); showBox(null); apply(true); }, 0);
    }
    document.getElementById("clear").addEventListener("click", clear);
    document.getElementById("clear-2").addEventListener("click", clear);
    document.getElementById("toggle-map").addEventListener("click", function () {
      var panel = document.getElementById("map-panel");
      if (!panel.hidden) { panel.hidden = true; this.setAttribute("aria-expanded", "false"); return; }
      openMap();
      if (map) setTimeout(function () { map.invalidateSize(); }, 0);
    });
  }

  function itemFilters(form) {
    // Filters over the rows of this page; without JavaScript the form stays hidden.
    var rows = document.querySelectorAll("#item-rows tbody tr");
    var count = document.getElementById("item-filter-count");
    function apply() {
      var cls = form.elements["class"] ? form.elements["class"].value : "";
      var split = form.elements.split ? form.elements.split.value : "";
      var shown = 0;
      rows.forEach(function (row) {
        var ok = (!cls || row.getAttribute("data-class") === cls) &&
          (!split || row.getAttribute("data-split") === split);
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (count) count.textContent = shown + " of " + rows.length + " items on this page";
    }
    form.hidden = false;
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillSiteUrls();
    copyButtons();
    var filters = document.getElementById("item-filters");
    if (filters) itemFilters(filters);
    var form = document.getElementById("search");
    if (form) homeSearch(form);
    if (typeof L === "undefined") return;
    var footprints = document.getElementById("footprints-map");
    if (footprints) footprintsMap(footprints);
    var item = document.getElementById("item-map");
    if (item) itemMap(item);
    var changes = document.getElementById("changes-map");
    if (changes) changesMap(changes);
  });
})();
