// Reference capture page for the eKYC daemon (service/routes/ekyc.py documents the API).
//
// The flow:
//   1. open a capture window with the mailed URL's token  POST /v1/ekyc/sessions
//   2. read the document rules (which shots, in order)     GET  /v1/ekyc/rules
//   3. choose the document                                 POST /v1/ekyc/document
//   4. for each card shot (front, tilt, back if the rules have one):
//      send ~4-5 preview JPEGs a second                    POST /v1/ekyc/frame
//      show the Japanese guidance; when the server says `capture`, send the shot
//                                                          POST /v1/ekyc/shot/{step}
//   5. selfie: get a challenge, take the selfie, then record frames while each
//      action is prompted                                  POST /v1/ekyc/challenge,
//                                                          POST /v1/ekyc/shot/selfie,
//                                                          POST /v1/ekyc/challenge/frames
//      (a 422 retake_needed with shot "challenge" carries advice and a new challenge:
//      record again)
//   6. finish and show the result                          POST /v1/ekyc/finish
//
// Every call after step 1 carries the capture token in the X-Capture-Token header; the
// server refuses images without it (no gallery uploads). Errors are RFC 9457 problems.
// When the window closes (a daemon restart, or its time is up) the page opens a new one
// with the URL's token and retries; a reload skips the shots already taken.
"use strict";

const API = "/v1/ekyc";
const PREVIEW_INTERVAL_MS = 220;   // ~4.5 preview frames per second
const PREVIEW_MAX_WIDTH = 640;     // preview frames are small: guidance needs no more
const TILT_COUNTDOWN_S = 3;        // the tilted card cannot fit the flat guide: a countdown
const RETAKE_PAUSE_MS = 1500;      // time to read why a shot is asked again
const ACTION_MS = 1800;            // how long each challenge action is prompted and recorded
const RECORD_INTERVAL_MS = 120;    // ~8 recorded frames per second
const ID1_ASPECT = 85.6 / 53.98;   // ISO/IEC 7810 ID-1 card, as ekyc.capture.Guide

const STEP_LABELS = { front: "おもて面", tilt: "斜めから", back: "うら面", selfie: "顔写真" };
const STEP_PROMPTS = {
  front: "カードのおもて面を枠に合わせてください",
  tilt: "カードを手に持ち、斜め（約45度）に傾けて映してください",
  back: "カードのうら面を枠に合わせてください",
};
const ACTION_PROMPTS = {
  turn_left: "ゆっくり顔を左に向けてください",
  turn_right: "ゆっくり顔を右に向けてください",
  look_up: "顔を上に向けてください",
  blink: "まばたきをしてください",
  open_mouth: "口を大きく開けてください",
};

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let captureToken = null;
let urlToken = null;     // the mailed URL's token, from the fragment: reopens the window

// ------------------------------------------------------------------ API calls

class ProblemError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "error");
    this.problem = problem;
  }
}

async function api(path, { method = "POST", json, blob } = {}, retried = false) {
  const headers = {};
  if (captureToken) headers["X-Capture-Token"] = captureToken;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (blob !== undefined) {
    headers["Content-Type"] = blob.type;
    body = blob;
  }
  const response = await fetch(API + path, { method, headers, body });
  const data = await response.json();
  if (!response.ok) {
    // The daemon restarted or the window ran out: open a new window with the URL's token
    // and send the same request once more (the shots already taken are kept).
    if (!retried && response.status === 401 && data.reason === "capture_window_closed" && urlToken) {
      console.info("capture window closed: reopening");
      await openWindow();
      return api(path, { method, json, blob }, true);
    }
    throw new ProblemError(data);
  }
  return data;
}

async function openWindow() {
  captureToken = null;
  const session = await api("/sessions", { json: { token: urlToken } });
  captureToken = session.capture_token;
  return session;
}

// ------------------------------------------------------------------ camera and drawing

async function startCamera(facingMode) {
  const video = $("video");
  if (video.srcObject) video.srcObject.getTracks().forEach((t) => t.stop());
  video.srcObject = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode, width: { ideal: 1280 }, height: { ideal: 720 } },
  });
  await video.play();
  while (!video.videoWidth) await sleep(50);
  const overlay = $("overlay");
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  return video;
}

// The video frame as a JPEG, at most maxWidth wide (mirrored for the selfie camera, so the
// frames match what the applicant sees, as ekyc.liveness expects).
function grab(video, maxWidth, quality, mirrored = false) {
  const scale = Math.min(1, maxWidth / video.videoWidth);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const ctx = canvas.getContext("2d");
  if (mirrored) {
    ctx.translate(canvas.width, 0);
    ctx.scale(-1, 1);
  }
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

function blobToBase64(blob) {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.split(",", 2)[1]);
    reader.readAsDataURL(blob);
  });
}

// The ID-1 guide, centred at 80 % (Guide.centred), or the server's, scaled to the overlay.
function drawGuide(guidance) {
  const overlay = $("overlay");
  const ctx = overlay.getContext("2d");
  const W = overlay.width, H = overlay.height;
  ctx.clearRect(0, 0, W, H);
  let g, s = 1;
  if (guidance) {
    g = guidance.guide;
    s = W / guidance.width;
  } else {
    const width = Math.min(0.8 * W, 0.8 * H * ID1_ASPECT);
    g = { x: (W - width) / 2, y: (H - width / ID1_ASPECT) / 2, width, height: width / ID1_ASPECT };
  }
  ctx.fillStyle = "rgba(0, 0, 0, 0.35)";  // dim everything outside the guide
  ctx.fillRect(0, 0, W, H);
  ctx.clearRect(g.x * s, g.y * s, g.width * s, g.height * s);
  ctx.lineWidth = Math.max(3, W / 200);
  ctx.strokeStyle = guidance && guidance.capture ? "#2ecc71" : "#ffffff";
  ctx.strokeRect(g.x * s, g.y * s, g.width * s, g.height * s);
  if (guidance && guidance.corners) {  // where the card was seen
    ctx.strokeStyle = "#f1c40f";
    ctx.beginPath();
    guidance.corners.forEach(([x, y], i) => (i ? ctx.lineTo(x * s, y * s) : ctx.moveTo(x * s, y * s)));
    ctx.closePath();
    ctx.stroke();
  }
}

function clearOverlay() {
  const overlay = $("overlay");
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
}

// ------------------------------------------------------------------ page state

function show(section) {
  for (const id of ["choose", "camera", "result"]) $(id).hidden = id !== section;
}

function setStep(step, steps) {
  document.body.dataset.step = step;  // also what the browser test waits on
  $("steps").innerHTML = "";
  const index = steps.indexOf(step);
  steps.forEach((name, i) => {
    const li = document.createElement("li");
    li.textContent = STEP_LABELS[name] || name;
    if (i < index || step === "result") li.className = "done";
    else if (i === index) li.className = "current";
    $("steps").appendChild(li);
  });
}

function say(prompt, message = "") {
  $("prompt").textContent = prompt;
  $("message").textContent = message;
}

// ------------------------------------------------------------------ steps

async function chooseDocument(rules, preset) {
  const accepted = rules.documents.filter((d) => d.accepted);
  if (preset && accepted.some((d) => d.document_type === preset)) return preset;
  show("choose");
  const names = {
    drivers_license: "運転免許証",
    my_number_card: "マイナンバーカード（おもて面のみ撮影します）",
    residence_card: "在留カード",
  };
  return new Promise((resolve) => {
    for (const d of accepted) {
      const button = document.createElement("button");
      button.textContent = names[d.document_type] || d.document_type;
      button.onclick = () => resolve(d.document_type);
      $("documents").appendChild(button);
    }
  });
}

// Preview frames until the server says the card is in the guide and held still.
async function autoCapture(video, step) {
  say(STEP_PROMPTS[step]);
  for (;;) {
    const started = performance.now();
    const frame = await grab(video, PREVIEW_MAX_WIDTH, 0.8);
    try {
      const guidance = await api("/frame", { blob: frame });
      drawGuide(guidance);
      $("message").textContent = guidance.message_ja;
      if (guidance.capture) return grab(video, 4096, 0.92);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.problem.status >= 500 || error.problem.status === 429) {
        await sleep(1000);  // busy or rate-limited: slow down and keep going
      } else {
        throw error;
      }
    }
    await sleep(Math.max(0, PREVIEW_INTERVAL_MS - (performance.now() - started)));
  }
}

async function countdownCapture(video, step) {
  drawGuide(null);
  for (let s = TILT_COUNTDOWN_S; s > 0; s--) {
    say(STEP_PROMPTS[step], `${s} 秒後に撮影します`);
    await sleep(1000);
  }
  return grab(video, 4096, 0.92);
}

async function cardSteps(steps) {
  $("camera").querySelector(".viewport").classList.remove("mirrored");
  const video = await startCamera("environment");
  drawGuide(null);
  for (const step of steps) {
    setStep(step, window.allSteps);
    // The daemon keeps a card shot only when it shows the chosen card's side for the
    // step, whole and read, and (a few times per step) sharp, glare-free and, for the
    // tilted shot, tilted with its edge showing (422 retake_needed otherwise, nothing
    // stored): shoot again.
    for (;;) {
      const shot = step === "tilt" ? await countdownCapture(video, step) : await autoCapture(video, step);
      if (await sent(step, shot, STEP_PROMPTS[step])) break;
    }
    say(STEP_PROMPTS[step], "撮影しました");
    await sleep(400);
  }
}

// Upload one shot; false when the daemon discarded it and the step is to be shot again:
// 422 retake_needed (a card step without the chosen card's side, whole and read, or judged
// blurred, glared over, not tilted or without thickness) or 409
// step_not_allowed for a My Number card's back (any step, the selfie included: a card
// held up in it). Any other problem ends the page.
async function sent(step, shot, prompt) {
  try {
    await api(`/shot/${step}`, { blob: shot });
    return true;
  } catch (error) {
    const problem = error instanceof ProblemError ? error.problem : null;
    const retake = problem && (problem.code === "retake_needed"
      || (problem.code === "step_not_allowed" && problem.reason === "my_number_back"));
    if (!retake) throw error;
    console.info(`retake ${step}: ${problem.reason}`);
    say(prompt, problem.detail);
    await sleep(RETAKE_PAUSE_MS);
    return false;
  }
}

// The selfie and the liveness challenge: prompt each action while recording frames.
// The daemon evaluates the recording on arrival: a failure the applicant can fix (face
// turned away, eyes not open, mouth open at rest) is a 422 retake_needed with shot
// "challenge", the advice (message_ja, message_en) and a new challenge that replaced the
// old one: show the advice and record the new one, with a new selfie (the recording's first
// frame). Any other answer is a 201 and the finish says the rest.
async function selfieStep() {
  setStep("selfie", window.allSteps);
  $("camera").querySelector(".viewport").classList.add("mirrored");
  const video = await startCamera("user");
  clearOverlay();
  let challenge = await api("/challenge");
  let advice = "";
  for (;;) {
    say("顔を画面の中央に映し、正面を向いてください", advice);
    await sleep(advice ? RETAKE_PAUSE_MS * 2 : 1000);
    const recorded = await recordChallenge(video, challenge);
    say("送信しています…", "");
    try {
      await api("/challenge/frames", {
        json: { nonce: challenge.nonce, started_at: recorded.started.toISOString(),
                frames: recorded.frames },
      });
      break;
    } catch (error) {
      const problem = error instanceof ProblemError ? error.problem : null;
      if (!problem || problem.code !== "retake_needed" || problem.shot !== "challenge") throw error;
      console.info(`retake challenge: ${problem.reason}`);
      advice = problem.message_ja || problem.detail;
      challenge = problem.challenge;
    }
  }
  video.srcObject.getTracks().forEach((t) => t.stop());
}

// The selfie (the recording's neutral first frame), then each action prompted in turn.
async function recordChallenge(video, challenge) {
  const selfiePrompt = "顔だけを映してください（カードは持たないでください）";
  let started, t0, frames, record;
  for (;;) {  // a retaken selfie starts the recording again
    started = new Date();
    t0 = performance.now();
    frames = [];
    record = async () => frames.push({
      t_ms: Math.round(performance.now() - t0),
      image: await blobToBase64(await grab(video, PREVIEW_MAX_WIDTH, 0.85, true)),
    });
    const selfie = await grab(video, 4096, 0.92, true);
    await record();
    if (await sent("selfie", selfie, selfiePrompt)) break;
  }
  document.body.dataset.step = "challenge";
  for (const action of challenge.actions) {
    say(ACTION_PROMPTS[action] || action, "");
    const end = performance.now() + ACTION_MS;
    while (performance.now() < end) {
      await record();
      await sleep(RECORD_INTERVAL_MS);
    }
  }
  return { started, frames };
}

function showResult(verdict) {
  const texts = {
    accept: "本人確認が完了しました。",
    review: "撮影を受け付けました。担当者が確認します。",
    reject: "本人確認ができませんでした。もう一度お試しください。",
  };
  setStep("result", window.allSteps);
  document.body.dataset.decision = verdict.decision;
  show("result");
  $("result-text").textContent = texts[verdict.decision] || verdict.decision;
  $("result-json").textContent = JSON.stringify(verdict, null, 2);
}

async function main() {
  const params = new URLSearchParams(location.hash.slice(1));
  urlToken = params.get("token");
  if (!urlToken) throw new Error("URL に本人確認用のトークンがありません");
  const session = await openWindow();
  const rules = await api("/rules", { method: "GET" });
  const documentType = await chooseDocument(rules, params.get("doc") || session.document_type);
  // The same document again keeps its shots: a reloaded page carries on where it stopped.
  const chosen = await api("/document", { json: { document_type: documentType } });
  const rule = rules.documents.find((d) => d.document_type === documentType);
  window.allSteps = rule.shots;  // from the rules: no back step for the My Number card
  show("camera");
  const taken = new Set(chosen.shots_taken);
  await cardSteps(rule.shots.filter((s) => s !== "selfie" && !taken.has(s)));
  await selfieStep();
  showResult(await api("/finish"));
}

main().catch((error) => {
  document.body.dataset.step = "error";
  $("error").hidden = false;
  $("error").textContent = error.message;
  console.error(error);
});
