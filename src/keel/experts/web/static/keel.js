// keel review: keyboard shortcuts, and decisions signed in the browser with an Ed25519 key
// that never leaves it (WebCrypto; the private key is not extractable and lives in IndexedDB).
// Without this script every page still works: the server signs with the reviewer's key.
"use strict";
(function () {
  const body = document.body;
  const reviewer = body.dataset.reviewer;
  const csrf = body.dataset.csrf;
  if (!reviewer) return;

  function openStore() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("keel-review", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("keys");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function stored(name) {
    const db = await openStore();
    return new Promise((resolve, reject) => {
      const req = db.transaction("keys").objectStore("keys").get(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function store(name, value) {
    const db = await openStore();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("keys", "readwrite");
      tx.objectStore("keys").put(value, name);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const where = location.host + "/" + reviewer;

  // The reviewer's key pair: made once per browser and enrolled (POST /key).
  async function keyPair() {
    let found = await stored(where);
    if (found && found.enrolled) return found;
    const pair = found ? found.pair : await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
    const form = new FormData();
    form.append("csrf", csrf);
    form.append("public_key", b64(raw));
    const answer = await fetch("/key", { method: "POST", body: form, credentials: "same-origin" });
    if (!answer.ok) throw new Error("the server refused the key");
    found = { pair: pair, enrolled: true };
    await store(where, found);
    return found;
  }
  let ready = null;
  if (window.crypto && crypto.subtle && window.indexedDB) {
    ready = keyPair().catch(() => null);  // no Ed25519 here: the server signs instead
  }
  // Once the page is set up (htmx has processed it) and the key is settled, say who signs.
  const loaded = document.readyState === "loading"
    ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve))
    : Promise.resolve();
  Promise.all([ready, loaded]).then(([key]) => { body.dataset.signing = key ? "browser" : "server"; });

  // Before htmx sends a decision: fetch the exact bytes to sign, sign them, send the signature.
  document.addEventListener("htmx:confirm", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.message || ready === null) return;
    if (form.dataset.signed === "yes") return;
    event.preventDefault();
    const status = form.querySelector(".signing");
    (async () => {
      const key = await ready;
      if (key) {
        try {
          const answer = await fetch(form.dataset.message, { method: "POST", body: new FormData(form), credentials: "same-origin" });
          if (!answer.ok) throw new Error(await answer.text());
          const { message } = await answer.json();
          const sig = await crypto.subtle.sign({ name: "Ed25519" }, key.pair.privateKey, unb64(message));
          form.querySelector("input[name=signature]").value = b64(sig);
          if (status) status.textContent = "signed in your browser";
        } catch (err) {
          form.querySelector("input[name=signature]").value = "";
        }
      }
      form.dataset.signed = "yes";
      event.detail.issueRequest(true);
    })();
  });
  document.addEventListener("htmx:afterSwap", () => {
    const text = document.getElementById("rationale");
    if (text) text.blur();
  });

  // a / r / d choose the decision and move to the rationale; Ctrl+Enter submits.
  document.addEventListener("keydown", (event) => {
    const form = document.getElementById("decide");
    if (!form) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    const typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement && event.target.type !== "radio";
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const choice = { a: "accept", r: "reject", d: "degenerate" }[event.key];
    if (!choice) return;
    const radio = form.querySelector(`input[name=decision][value=${choice}]`);
    if (radio) {
      radio.checked = true;
      event.preventDefault();
      document.getElementById("rationale").focus();
    }
  });
})();
