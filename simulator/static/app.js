// Phone emulator: USSD through the simulator's /ussd proxy (the gateway's HTTP endpoint) or, with
// "over SMPP" ticked, through the simulator as USSD centre (/ussd/dial, /ussd/answer, /ussd/abort);
// SMS through /mo and /mt.
"use strict";

const $ = (id) => document.getElementById(id);
const screen = $("screen");
const entry = $("entry");

// One USSD session: over HTTP the service code and every answer so far (joined by "*");
// over SMPP the simulator's session id (the centre keeps the dialogue).
let ussd = null;

function show(text, state) {
  screen.textContent = text;
  screen.className = "screen" + (state ? " " + state : "");
}

function splitDialled(dialled) {
  // "*123*PIN#" reaches the gateway as serviceCode "*123#" and first text "PIN".
  const body = dialled.replace(/^\*/, "").replace(/#$/, "");
  const [code, ...rest] = body.split("*");
  return { serviceCode: "*" + code + "#", answers: rest.filter((s) => s !== "") };
}

async function turn() {
  const payload = {
    sessionId: ussd.sessionId,
    serviceCode: ussd.serviceCode,
    phoneNumber: $("msisdn").value.trim(),
    text: ussd.answers.join("*"),
  };
  show("…", "");
  let body;
  try {
    const resp = await fetch("/ussd", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.statusText);
  } catch (err) {
    ussd = null;
    show("Connection problem or invalid MMI code.\n" + err.message, "error");
    return;
  }
  const reply = body.reply || "";
  if (reply.startsWith("CON ")) {
    show(reply.slice(4), "");
  } else {
    show(reply.startsWith("END ") ? reply.slice(4) : reply, "ended");
    ussd = null;
  }
}

async function post(path, payload) {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

async function smppTurn(typed) {
  show("…", "");
  let screenBody;
  try {
    screenBody = ussd.session === null
      ? await post("/ussd/dial", { msisdn: $("msisdn").value.trim(), code: typed })
      : await post("/ussd/answer", { session: ussd.session, text: typed });
  } catch (err) {
    ussd = null;
    show("Connection problem or invalid MMI code.\n" + err.message, "error");
    return;
  }
  if (screenBody.end) {
    ussd = null;
    show(screenBody.text, "ended");
  } else {
    ussd.session = screenBody.session;
    show(screenBody.text, "");
  }
}

function callOrSend() {
  const typed = entry.value.trim();
  entry.value = "";
  if (ussd === null) {
    if (!/^\*[0-9*]*#$/.test(typed)) {
      show("Dial a USSD code such as *100#", "error");
      return;
    }
    if ($("via-smpp").checked) {
      ussd = { smpp: true, session: null };
      smppTurn(typed);
      return;
    }
    const { serviceCode, answers } = splitDialled(typed);
    ussd = { sessionId: "web-" + Date.now() + "-" + Math.floor(Math.random() * 1e6), serviceCode, answers };
  } else if (ussd.smpp) {
    smppTurn(typed);
    return;
  } else {
    ussd.answers.push(typed);
  }
  turn();
}

$("keypad").addEventListener("click", (ev) => {
  const key = ev.target.dataset && ev.target.dataset.key;
  if (key) entry.value += key;
});
$("call").addEventListener("click", callOrSend);
entry.addEventListener("keydown", (ev) => { if (ev.key === "Enter") callOrSend(); });
$("clear").addEventListener("click", () => { entry.value = entry.value.slice(0, -1); });
$("hangup").addEventListener("click", () => {
  if (ussd !== null && ussd.smpp && ussd.session !== null) {
    post("/ussd/abort", { session: ussd.session }).catch(() => {});  // the centre tells the gateway
  }
  ussd = null;
  entry.value = "";
  show("Dial a code, e.g. *100#", "");
});

// SMS conversation ---------------------------------------------------------
let lastMt = 0;
let polling = null;

function bubble(text, dir) {
  const li = document.createElement("li");
  li.className = dir;
  li.textContent = text;
  $("thread").appendChild(li);
  li.scrollIntoView({ block: "end" });
}

async function poll() {
  const msisdn = $("msisdn").value.trim();
  try {
    const resp = await fetch("/mt?to=" + encodeURIComponent(msisdn) + "&since=" + lastMt);
    if (!resp.ok) return;
    for (const mt of await resp.json()) {
      lastMt = Math.max(lastMt, mt.id);
      bubble(mt.text, "in");
    }
  } catch (err) { /* simulator restarting; try again next tick */ }
}

async function startPolling() {
  // Only show replies that arrive from now on.
  const resp = await fetch("/mt?to=" + encodeURIComponent($("msisdn").value.trim()));
  if (resp.ok) for (const mt of await resp.json()) lastMt = Math.max(lastMt, mt.id);
  if (polling === null) polling = setInterval(poll, 500);
}

$("sms-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("sms-text").value;
  if (!text) return;
  if (polling === null) await startPolling();
  const resp = await fetch("/mo", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from: $("msisdn").value.trim(), to: $("shortcode").value.trim(), text }),
  });
  if (resp.ok) {
    bubble(text, "out");
    $("sms-text").value = "";
  } else {
    bubble("Not sent: " + ((await resp.json()).error || resp.statusText), "out error");
  }
});
