// Progressive enhancement only: hide the inputs the chosen type and schedule do not use,
// and preview the schedule (in words, with its next firings) as the user types it.
(function () {
  const form = document.querySelector(".trigger-form");
  const type = form.querySelector("[name=type]");
  const kind = form.querySelector("[name=schedule_kind]");
  const preview = document.getElementById("schedule-preview");
  function sync() {
    form.querySelectorAll("[data-for-type]").forEach(function (element) {
      element.hidden = element.dataset.forType !== type.value;
    });
    form.querySelectorAll("[data-for-kind]").forEach(function (element) {
      element.hidden = element.dataset.forKind !== kind.value;
    });
  }
  type.addEventListener("change", sync);
  kind.addEventListener("change", sync);
  sync();

  const UNIT_SECONDS = { seconds: 1, minutes: 60, hours: 3600 };
  // The API's keys as the page labels them.
  const LABELS = {
    run_at: "Run at", interval_seconds: "Every", start_at: "Start at", cron: "Cron expression",
    timezone: "Cron time zone", expires_at: "Expires at", non_field_errors: "Schedule", schedule_details: "Schedule",
  };
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function value(name) {
    const input = form.querySelector("[name=" + name + "]");
    return input ? input.value.trim() : "";
  }
  function details() {
    if (type.value !== "scheduled") return null;
    if (kind.value === "once" && value("run_at")) return { run_at: value("run_at") };
    if (kind.value === "interval" && /^\d+$/.test(value("interval"))) {
      const shape = { interval_seconds: Number(value("interval")) * (UNIT_SECONDS[value("interval_unit")] || 1) };
      if (value("start_at")) shape.start_at = value("start_at");
      return shape;
    }
    if (kind.value === "cron" && value("cron")) {
      const shape = { cron: value("cron") };
      if (value("cron_timezone")) shape.timezone = value("cron_timezone");
      return shape;
    }
    return null;
  }
  // "2026-03-02T09:30:00+05:30" as "Mon 2 Mar 2026, 09:30": the wall time the server gave, in its zone.
  function wallTime(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso);
    const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))).getUTCDay();
    const seconds = match[6] === "00" ? "" : ":" + match[6];
    return DAYS[day] + " " + Number(match[3]) + " " + MONTHS[Number(match[2]) - 1] + " " + match[1] + ", " +
      match[4] + ":" + match[5] + seconds;
  }
  function problems(errors, prefix) {
    if (Array.isArray(errors)) return errors.map(function (message) { return prefix + message; });
    return Object.keys(errors).reduce(function (all, key) {
      return all.concat(problems(errors[key], (LABELS[key] || key) + ": "));
    }, []);
  }
  function show(className, heading, lines) {
    preview.replaceChildren();
    preview.className = "schedule-preview " + className;
    const title = document.createElement("p");
    title.className = "schedule-preview-words";
    title.textContent = heading;
    const list = document.createElement("ul");
    lines.forEach(function (line) {
      const item = document.createElement("li");
      item.textContent = line;
      list.appendChild(item);
    });
    preview.append(title, list);
    preview.hidden = false;
  }
  let timer = null;
  let latest = 0;
  function refresh() {
    const shape = details();
    if (shape === null) {
      preview.hidden = true;
      return;
    }
    const body = { schedule_details: shape };
    if (value("expires_at")) body.expires_at = value("expires_at");
    // On the edit page, checked as an edit: a one-time trigger's past, unchanged run time is kept.
    if (preview.dataset.trigger) body.trigger = preview.dataset.trigger;
    const asked = ++latest;
    fetch(preview.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": value("csrfmiddlewaretoken") },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (asked !== latest) return; // a later keystroke's answer is on its way
      if (result.ok) {
        const firings = result.answer.next_firings.map(wallTime);
        const heading = "Fires " + result.answer.description + ". Next firings (" + result.answer.timezone + "):";
        show("is-valid", firings.length ? heading : "Fires " + result.answer.description + ".", firings);
      } else {
        show("is-invalid", "This schedule cannot be saved:", problems(result.answer, ""));
      }
    }).catch(function () {
      preview.hidden = true;
    });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  refresh();
})();
