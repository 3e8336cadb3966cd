// The eotdl labelling page: label, correct and review chips; labels stay in this browser
// (localStorage) until exported as a GeoJSON file for `eotdl labels apply`. Nothing is sent.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("tasks").textContent);
  var KEY = "eotdl-labels:" + [T.lab, T.dataset, T.version, T.task].join(":");
  var VIEW = 640; // largest side of the chip on screen, CSS pixels
  var HANDLE = 8; // corner handle size, screen pixels
  var state = load();
  var index = Math.min(state.index || 0, T.chips.length - 1);
  var current = 0; // the class chosen for new shapes (index into T.classes)
  var undo = [];
  var redo = [];
  var selected = -1; // index of the selected shape of this chip
  var drawing = null; // polygon points in progress, or a box being drawn
  var drag = null; // {mode: move|resize|new, start, shape}
  var cursor = null; // keyboard cursor in chip pixels
  var image = new Image();
  var canvas = document.getElementById("canvas");
  var ctx = canvas.getContext("2d");
  var scale = 1;

  function $(id) { return document.getElementById(id); }
  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(KEY) || "{}");
      return { annotator: saved.annotator || "", labels: saved.labels || {}, index: saved.index || 0 };
    } catch (e) {
      return { annotator: "", labels: {}, index: 0 };
    }
  }
  function save() {
    state.index = index;
    localStorage.setItem(KEY, JSON.stringify(state));
  }
  function chip() { return T.chips[index]; }
  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }
  function now() { return new Date().toISOString().replace(/\.\d+Z$/, "Z"); }

  // The labels of a chip: what this annotator set, else what the dataset says.
  function entry(c) {
    var own = state.labels[c.id];
    if (own) return own;
    return {
      status: null,
      cls: c.label,
      boxes: (c.boxes || []).map(function (b) { return { cls: b["class"], bbox: b.bbox.slice() }; }),
      polygons: [],
      existing: true
    };
  }
  // Every change goes through here: one undo step, saved at once.
  function change(fn) {
    var c = chip();
    undo.push({ id: c.id, before: clone(state.labels[c.id]) });
    redo = [];
    var e = clone(entry(c));
    delete e.existing;
    fn(e);
    e.time = now();
    state.labels[c.id] = e;
    save();
    render();
  }
  function restore(from, to) {
    var step = from.pop();
    if (!step) return;
    to.push({ id: step.id, before: clone(state.labels[step.id]) });
    if (step.before === undefined) delete state.labels[step.id];
    else state.labels[step.id] = step.before;
    var at = T.chips.findIndex(function (c) { return c.id === step.id; });
    if (at >= 0) index = at;
    selected = -1;
    save();
    show();
  }

  function classButtons() {
    var box = $("classes");
    box.textContent = "";
    T.classes.forEach(function (name, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "class";
      b.dataset.index = String(i);
      b.textContent = name; // class names are text, never markup
      if (i < 9) {
        var k = document.createElement("kbd");
        k.textContent = String(i + 1);
        b.appendChild(k);
      }
      b.addEventListener("click", function () { chooseClass(i); });
      box.appendChild(b);
    });
  }
  function chooseClass(i) {
    if (i >= T.classes.length) return;
    current = i;
    var name = T.classes[i];
    if (T.task === "classification") {
      change(function (e) { e.status = "labelled"; e.cls = name; });
      go(1);
      return;
    }
    var e = entry(chip());
    var list = T.task === "detection" ? e.boxes : e.polygons;
    if (selected >= 0 && selected < list.length) {
      change(function (e2) { (T.task === "detection" ? e2.boxes : e2.polygons)[selected].cls = name; });
    } else {
      render();
    }
  }
  function mark(status) {
    change(function (e) { e.status = status; });
    go(1);
  }
  function go(step) {
    index = Math.max(0, Math.min(T.chips.length - 1, index + step));
    selected = -1;
    drawing = null;
    cursor = null;
    save();
    show();
  }

  function show() {
    var c = chip();
    image.onload = function () { fit(); render(); };
    image.src = c.img;
    $("chip-id").textContent = c.id;
    $("chip-pos").textContent = "(" + (index + 1) + " of " + T.chips.length + ")";
    $("chip-split").textContent = c.split ? "split: " + c.split : "";
    var flags = $("flags");
    flags.textContent = "";
    (c.flags || []).forEach(function (f) {
      var li = document.createElement("li");
      li.textContent = f;
      flags.appendChild(li);
    });
    queue();
    render();
  }
  function fit() {
    var c = chip();
    scale = VIEW / Math.max(c.w, c.h);
    canvas.width = Math.round(c.w * scale);
    canvas.height = Math.round(c.h * scale);
    canvas.style.aspectRatio = c.w + " / " + c.h;
  }

  function shapes() {
    var e = entry(chip());
    return T.task === "detection" ? e.boxes : T.task === "segmentation" ? e.polygons : [];
  }
  function colour(name) {
    var i = Math.max(0, T.classes.indexOf(name));
    return "hsl(" + ((i * 137) % 360) + ", 90%, 55%)";
  }
  function render() {
    var c = chip();
    var e = entry(c);
    if (!canvas.width) fit();
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (image.complete && image.naturalWidth) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 2;
    if (T.task === "detection") {
      e.boxes.forEach(function (b, i) {
        ctx.strokeStyle = colour(b.cls);
        var x = b.bbox[0] * scale, y = b.bbox[1] * scale;
        var w = (b.bbox[2] - b.bbox[0]) * scale, h = (b.bbox[3] - b.bbox[1]) * scale;
        ctx.strokeRect(x, y, w, h);
        if (i === selected) {
          ctx.fillStyle = colour(b.cls);
          [[x, y], [x + w, y], [x, y + h], [x + w, y + h]].forEach(function (p) {
            ctx.fillRect(p[0] - HANDLE / 2, p[1] - HANDLE / 2, HANDLE, HANDLE);
          });
        }
      });
    }
    if (T.task === "segmentation") {
      e.polygons.forEach(function (p, i) {
        path(p.pts, true);
        ctx.fillStyle = colour(p.cls).replace("hsl", "hsla").replace(")", ", 0.35)");
        ctx.fill();
        ctx.strokeStyle = i === selected ? "#fff" : colour(p.cls);
        ctx.stroke();
      });
    }
    if (drawing && drawing.pts) {
      path(drawing.pts, false);
      ctx.strokeStyle = colour(T.classes[current]);
      ctx.stroke();
    }
    if (drawing && drawing.corner) {
      ctx.strokeStyle = "#fff";
      ctx.strokeRect(drawing.corner[0] * scale - 3, drawing.corner[1] * scale - 3, 6, 6);
    }
    if (cursor) {
      ctx.strokeStyle = "#fff";
      ctx.beginPath();
      ctx.moveTo(cursor[0] * scale - 8, cursor[1] * scale);
      ctx.lineTo(cursor[0] * scale + 8, cursor[1] * scale);
      ctx.moveTo(cursor[0] * scale, cursor[1] * scale - 8);
      ctx.lineTo(cursor[0] * scale, cursor[1] * scale + 8);
      ctx.stroke();
    }
    var text = e.status ? e.status : "not labelled yet";
    if (T.task === "classification") text += e.cls ? " · class: " + e.cls : "";
    else text += " · " + shapes().length + (T.task === "detection" ? " boxes" : " polygons");
    text += " · drawing class: " + (T.classes[current] || "none");
    $("current").textContent = text;
    canvas.setAttribute("aria-label", c.id + ": " + text);
    Array.prototype.forEach.call(document.querySelectorAll("#classes button"), function (b) {
      var name = T.classes[Number(b.dataset.index)];
      var on = T.task === "classification" ? e.cls === name : Number(b.dataset.index) === current;
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    progress();
  }
  function path(pts, close) {
    ctx.beginPath();
    pts.forEach(function (p, i) {
      if (i === 0) ctx.moveTo(p[0] * scale, p[1] * scale);
      else ctx.lineTo(p[0] * scale, p[1] * scale);
    });
    if (close) ctx.closePath();
  }
  function progress() {
    var done = 0, counts = {};
    T.classes.forEach(function (c) { counts[c] = 0; });
    T.chips.forEach(function (c) {
      var e = state.labels[c.id];
      if (!e || !e.status) return;
      if (e.status === "labelled") done++;
      if (T.task === "classification") {
        if (e.status === "labelled" && e.cls in counts) counts[e.cls]++;
      } else {
        (T.task === "detection" ? e.boxes : e.polygons).forEach(function (s) {
          if (s.cls in counts) counts[s.cls]++;
        });
      }
    });
    $("progress").textContent = done + " of " + T.chips.length + " labelled";
    var body = document.querySelector("#counts tbody");
    body.textContent = "";
    T.classes.forEach(function (name) {
      var tr = document.createElement("tr");
      var a = document.createElement("td");
      var b = document.createElement("td");
      a.textContent = name;
      b.textContent = String(counts[name]);
      tr.appendChild(a);
      tr.appendChild(b);
      body.appendChild(tr);
    });
  }
  function queue() {
    var list = $("queue");
    list.textContent = "";
    var start = Math.max(0, index - 3);
    T.chips.slice(start, start + 12).forEach(function (c, i) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      var e = state.labels[c.id];
      b.textContent = c.id + (e && e.status ? " ✓" : "") + (c.flags && c.flags.length ? " ⚑" : "");
      if (start + i === index) b.setAttribute("aria-current", "true");
      b.addEventListener("click", function () { index = start + i; selected = -1; save(); show(); });
      li.value = start + i + 1;
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // Pointer: boxes drawn, moved, resized; polygon points added; shapes selected.
  function at(ev) {
    var r = canvas.getBoundingClientRect();
    var c = chip();
    var x = ((ev.clientX - r.left) / r.width) * c.w;
    var y = ((ev.clientY - r.top) / r.height) * c.h;
    return [Math.max(0, Math.min(c.w, x)), Math.max(0, Math.min(c.h, y))];
  }
  function near(p, q) {
    return Math.abs(p[0] - q[0]) * scale <= HANDLE && Math.abs(p[1] - q[1]) * scale <= HANDLE;
  }
  function hitBox(p) {
    var boxes = entry(chip()).boxes;
    for (var i = boxes.length - 1; i >= 0; i--) {
      var b = boxes[i].bbox;
      var corners = [[b[0], b[1]], [b[2], b[1]], [b[0], b[3]], [b[2], b[3]]];
      for (var k = 0; k < 4; k++) if (near(p, corners[k])) return { i: i, corner: k };
      if (p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3]) return { i: i, corner: -1 };
    }
    return null;
  }
  function inside(p, pts) {
    var hit = false;
    for (var i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      if ((pts[i][1] > p[1]) !== (pts[j][1] > p[1]) &&
          p[0] < ((pts[j][0] - pts[i][0]) * (p[1] - pts[i][1])) / (pts[j][1] - pts[i][1]) + pts[i][0]) hit = !hit;
    }
    return hit;
  }
  canvas.addEventListener("pointerdown", function (ev) {
    if (T.task === "classification") return;
    canvas.focus();
    var p = at(ev);
    if (T.task === "segmentation") {
      if (!drawing) {
        var polys = entry(chip()).polygons;
        for (var i = polys.length - 1; i >= 0; i--) {
          if (inside(p, polys[i].pts)) { selected = i; render(); return; }
        }
        drawing = { pts: [] };
      }
      drawing.pts.push(p);
      render();
      return;
    }
    var hit = hitBox(p);
    canvas.setPointerCapture(ev.pointerId);
    if (hit) {
      selected = hit.i;
      var box = clone(entry(chip()).boxes[hit.i]);
      drag = { mode: hit.corner >= 0 ? "resize" : "move", corner: hit.corner, start: p, box: box, now: box };
    } else {
      selected = -1;
      drag = { mode: "new", start: p, now: { cls: T.classes[current], bbox: [p[0], p[1], p[0], p[1]] } };
    }
    render();
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var p = at(ev);
    var b = drag.box ? drag.box.bbox.slice() : drag.now.bbox.slice();
    if (drag.mode === "new") b = [drag.start[0], drag.start[1], p[0], p[1]];
    else if (drag.mode === "move") {
      var dx = p[0] - drag.start[0], dy = p[1] - drag.start[1];
      var c = chip();
      dx = Math.max(-b[0], Math.min(c.w - b[2], dx));
      dy = Math.max(-b[1], Math.min(c.h - b[3], dy));
      b = [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy];
    } else {
      if (drag.corner === 0 || drag.corner === 2) b[0] = p[0]; else b[2] = p[0];
      if (drag.corner === 0 || drag.corner === 1) b[1] = p[1]; else b[3] = p[1];
    }
    drag.now = { cls: (drag.box || drag.now).cls, bbox: b };
    render();
    ctx.strokeStyle = "#fff";
    ctx.setLineDash([4, 3]);
    var n = norm(b);
    ctx.strokeRect(n[0] * scale, n[1] * scale, (n[2] - n[0]) * scale, (n[3] - n[1]) * scale);
    ctx.setLineDash([]);
  });
  canvas.addEventListener("pointerup", function () {
    if (!drag) return;
    var d = drag;
    drag = null;
    var b = norm(d.now.bbox);
    if (b[2] - b[0] < 1 || b[3] - b[1] < 1) { render(); return; } // a click, not a box
    var rounded = b.map(function (v) { return Math.round(v * 100) / 100; });
    change(function (e) {
      e.status = "labelled";
      if (d.mode === "new") { e.boxes.push({ cls: d.now.cls, bbox: rounded }); selected = -1; }
      else e.boxes[selected].bbox = rounded;
    });
  });
  function norm(b) {
    return [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
  }
  function closePolygon() {
    if (!drawing || !drawing.pts || drawing.pts.length < 3) return;
    var pts = drawing.pts.map(function (p) { return [Math.round(p[0] * 100) / 100, Math.round(p[1] * 100) / 100]; });
    drawing = null;
    change(function (e) { e.status = "labelled"; e.polygons.push({ cls: T.classes[current], pts: pts }); selected = -1; });
  }
  function deleteSelected() {
    if (selected < 0) return;
    var at = selected;
    selected = -1;
    change(function (e) { (T.task === "detection" ? e.boxes : e.polygons).splice(at, 1); e.status = "labelled"; });
  }
  // Keyboard cursor: a box from two corners, or polygon points, without a mouse.
  function cursorPoint() {
    if (T.task === "segmentation") {
      if (!drawing) drawing = { pts: [] };
      drawing.pts.push(cursor.slice());
      render();
      return;
    }
    if (!drawing || !drawing.corner) { drawing = { corner: cursor.slice() }; render(); return; }
    var b = norm([drawing.corner[0], drawing.corner[1], cursor[0], cursor[1]]);
    drawing = null;
    if (b[2] - b[0] < 1 || b[3] - b[1] < 1) { render(); return; }
    change(function (e) { e.status = "labelled"; e.boxes.push({ cls: T.classes[current], bbox: b }); selected = -1; });
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.id === "annotator") {
      if (ev.key === "Enter" || ev.key === "Escape") { ev.preventDefault(); canvas.focus(); }
      return;
    }
    var k = ev.key;
    if ((ev.ctrlKey || ev.metaKey) && (k === "z" || k === "Z")) {
      ev.preventDefault();
      if (ev.shiftKey) restore(redo, undo); else restore(undo, redo);
      return;
    }
    if ((ev.ctrlKey || ev.metaKey) && (k === "y" || k === "Y")) { ev.preventDefault(); restore(redo, undo); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (/^[1-9]$/.test(k)) { ev.preventDefault(); chooseClass(Number(k) - 1); return; }
    var c = chip();
    var step = ev.shiftKey ? 10 : 1;
    var moves = { i: [0, -step], k: [0, step], j: [-step, 0], l: [step, 0], I: [0, -step], K: [0, step], J: [-step, 0], L: [step, 0] };
    if (T.task !== "classification" && moves[k]) {
      ev.preventDefault();
      cursor = cursor || [Math.round(c.w / 2), Math.round(c.h / 2)];
      cursor = [Math.max(0, Math.min(c.w, cursor[0] + moves[k][0])), Math.max(0, Math.min(c.h, cursor[1] + moves[k][1]))];
      render();
      return;
    }
    switch (k) {
      case "ArrowRight": case "n": ev.preventDefault(); go(1); break;
      case "ArrowLeft": case "p": ev.preventDefault(); go(-1); break;
      case "s": mark("skip"); break;
      case "u": mark("unsure"); break;
      case "d": if (T.task !== "classification") mark("labelled"); break;
      case "e": exportLabels(); break;
      case " ": if (T.task !== "classification" && cursor) { ev.preventDefault(); cursorPoint(); } break;
      case "Enter": if (drawing && drawing.pts) { ev.preventDefault(); closePolygon(); } break;
      case "Escape": drawing = null; drag = null; render(); break;
      case "Backspace":
        if (drawing && drawing.pts) { ev.preventDefault(); drawing.pts.pop(); render(); }
        else if (selected >= 0) { ev.preventDefault(); deleteSelected(); }
        break;
      case "Delete": deleteSelected(); break;
      case "Tab":
        if (T.task !== "classification" && document.activeElement === canvas && shapes().length) {
          ev.preventDefault();
          selected = (selected + 1) % shapes().length;
          render();
        }
        break;
      default:
    }
  });

  // Export: one GeoJSON FeatureCollection, pixels exact, WGS84 geometry for GIS tools.
  function lonlat(c, p) {
    var g = c.geo;
    return [g[0] * p[0] + g[1] * p[1] + g[2], g[3] * p[0] + g[4] * p[1] + g[5]];
  }
  function ring(c, pts) {
    if (!c.geo) return null;
    var r = pts.map(function (p) { return lonlat(c, p); });
    r.push(r[0]);
    return { type: "Polygon", coordinates: [r] };
  }
  function exportLabels() {
    var who = state.annotator.trim();
    if (!who) {
      $("annotator").focus();
      $("progress").textContent = "Type your name (annotator) before exporting.";
      return null;
    }
    var features = [];
    T.chips.forEach(function (c) {
      var e = state.labels[c.id];
      if (!e || !e.status) return;
      var base = { item_id: c.id, annotator: who, time: e.time || now(), task: T.task, source_crs: c.crs };
      var chipProps = Object.assign({ kind: "chip", status: e.status }, base);
      if (T.task === "classification" && e.status === "labelled") chipProps["class"] = e.cls;
      features.push({ type: "Feature", geometry: c.footprint || null, properties: chipProps });
      if (T.task === "detection" && e.status === "labelled") {
        e.boxes.forEach(function (b) {
          var bb = b.bbox;
          features.push({
            type: "Feature",
            geometry: ring(c, [[bb[0], bb[1]], [bb[2], bb[1]], [bb[2], bb[3]], [bb[0], bb[3]]]),
            properties: Object.assign({ kind: "box", "class": b.cls, pixel_bbox: bb }, base)
          });
        });
      }
      if (T.task === "segmentation" && e.status === "labelled") {
        e.polygons.forEach(function (p) {
          features.push({
            type: "Feature",
            geometry: ring(c, p.pts),
            properties: Object.assign({ kind: "polygon", "class": p.cls, pixel_polygon: p.pts }, base)
          });
        });
      }
    });
    var doc = {
      type: "FeatureCollection",
      "eotdl:labels": { lab: T.lab, dataset: T.dataset, version: T.version, task: T.task, annotator: who, exported: now() },
      features: features
    };
    var blob = new Blob([JSON.stringify(doc, null, 1)], { type: "application/geo+json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = ("labels-" + T.dataset + "-" + (T.version || "draft") + "-" + who).replace(/[^\w.-]+/g, "_") + ".geojson";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    $("progress").textContent = features.length + " features exported to " + a.download;
    return doc;
  }

  $("annotator").value = state.annotator;
  $("annotator").addEventListener("input", function (ev) { state.annotator = ev.target.value; save(); });
  $("skip").addEventListener("click", function () { mark("skip"); });
  $("unsure").addEventListener("click", function () { mark("unsure"); });
  $("done").addEventListener("click", function () { mark("labelled"); });
  $("prev").addEventListener("click", function () { go(-1); });
  $("next").addEventListener("click", function () { go(1); });
  $("undo").addEventListener("click", function () { restore(undo, redo); });
  $("redo").addEventListener("click", function () { restore(redo, undo); });
  $("delete").addEventListener("click", deleteSelected);
  $("export").addEventListener("click", exportLabels);
  if (T.task === "classification") $("done").hidden = true;
  if (T.task === "classification") $("delete").hidden = true;
  classButtons();
  show();
})();
