// Passkeys for the example UI: the only script of the site. Everything else
// works without JavaScript; this file adds, where the browser supports
// WebAuthn, sign-in with a passkey (button and autofill), a passkey as the
// second factor and for re-authentication, adding a passkey, and telling
// the browser about a removed one (Signal API).
//
// Each ceremony asks the server for options (POST .../options), runs
// navigator.credentials.create() or .get() with them, and posts
// credential.toJSON() back. The requests carry the page's CSRF token in the
// X-CSRF-Token header.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const supported = () =>
    typeof window.PublicKeyCredential === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

  // post sends a JSON request and returns {ok, status, data}.
  async function post(path, body) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const resp = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : "" },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try {
      data = await resp.json();
    } catch (_) {
      data = { error: "unavailable", message: "The server did not answer. Please try again." };
    }
    return { ok: resp.ok, status: resp.status, data };
  }

  // Refused is a server answer the page shows (or follows, with redirect).
  class Refused extends Error {
    constructor(res) {
      super(res.data.message || "Something went wrong. Please try again.");
      this.res = res;
    }
  }

  function showError(err) {
    const el = $("passkey-error");
    let msg;
    if (err instanceof Refused) {
      if (err.res.data.redirect) {
        window.location.assign(err.res.data.redirect);
        return;
      }
      msg = err.message;
    } else if (err && err.name === "NotAllowedError") {
      msg = "The passkey request was cancelled or timed out.";
    } else if (err && err.name === "InvalidStateError") {
      msg = "This device already holds a passkey for your account.";
    } else if (err && err.name === "AbortError") {
      return; // the page cancelled it (a newer request replaced it)
    } else {
      msg = "Passkeys did not work in this browser: " + (err && err.message ? err.message : String(err));
    }
    if (el) {
      el.textContent = msg;
      el.hidden = false;
    }
  }

  function clearError() {
    const el = $("passkey-error");
    if (el) el.hidden = true;
  }

  async function begin(path, body) {
    const res = await post(path, body);
    if (!res.ok) throw new Refused(res);
    return res.data;
  }

  // get runs navigator.credentials.get with {publicKey, mediation}.
  async function get(options, signal) {
    const req = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) };
    if (options.mediation) req.mediation = options.mediation;
    if (signal) req.signal = signal;
    const cred = await navigator.credentials.get(req);
    return cred.toJSON();
  }

  // signIn runs one sign-in ceremony and follows the server's redirect. A
  // challenge that expired while the page sat open is not an error: the
  // server sends fresh options (or the page asks for them) and the browser
  // asks again.
  async function signIn(flow, signal) {
    let options = (await begin(flow.options, flow.body)).options;
    for (let attempt = 0; attempt < 3; attempt++) {
      const credential = await get(options, signal);
      const res = await post(flow.finish, Object.assign({ credential }, flow.extra));
      if (res.ok) {
        window.location.assign(res.data.redirect);
        return;
      }
      if (res.data.error === "challenge_expired") {
        options = res.data.options || (await begin(flow.options, flow.body)).options;
        continue;
      }
      if (res.data.error === "unknown_credential" && res.data.signal && res.data.signal.unknown &&
          typeof PublicKeyCredential.signalUnknownCredential === "function") {
        // The browser offered a passkey this site no longer knows: ask it
        // to stop offering it.
        PublicKeyCredential.signalUnknownCredential(res.data.signal.unknown).catch(() => {});
      }
      throw new Refused(res);
    }
    throw new Refused({ data: { message: "The passkey request kept expiring. Reload the page." } });
  }

  // ---- sign-in page: autofill (conditional mediation) and the button.

  let conditional = null; // AbortController of the pending autofill offer
  let renewTimer = 0;

  // offerAutofill asks the browser to list passkeys in the email field's
  // suggestions (autocomplete="username webauthn"). The offer is renewed
  // before its challenge expires, so a page left open keeps working.
  async function offerAutofill() {
    if (typeof PublicKeyCredential.isConditionalMediationAvailable !== "function" ||
        !(await PublicKeyCredential.isConditionalMediationAvailable())) {
      return;
    }
    if (conditional) conditional.abort();
    const ac = new AbortController();
    conditional = ac;
    clearTimeout(renewTimer);
    let picked = false;
    try {
      const data = await begin("/login/passkey/options", { conditional: true });
      const pk = data.options.publicKey || {};
      const ttl = pk.timeout || Date.parse(data.expires_at) - Date.now();
      renewTimer = setTimeout(() => {
        if (conditional === ac) offerAutofill();
      }, Math.max(10000, ttl - 15000));
      const credential = await get(data.options, ac.signal);
      clearTimeout(renewTimer);
      picked = true;
      await finishAutofill(credential);
    } catch (err) {
      clearTimeout(renewTimer);
      if (conditional !== ac || !picked || !(err instanceof Refused)) {
        // Aborted by the page, the browser ended the offer (no passkey
        // for this site) or the server could not begin one: the password
        // form and the button remain.
        return;
      }
      // The server refused the passkey the user picked: say why and offer
      // autofill again.
      showError(err);
      if (!err.res.data.redirect) offerAutofill();
    }
  }

  async function finishAutofill(credential) {
    let res = await post("/login/passkey", { credential });
    if (res.ok) {
      window.location.assign(res.data.redirect);
      return;
    }
    if (res.data.error === "challenge_expired" && res.data.options) {
      // The user picked a passkey from an offer that had expired: the
      // server issued a fresh one; the browser asks once more.
      showError(new Refused(res));
      const again = await get(res.data.options, conditional ? conditional.signal : undefined);
      clearError();
      return finishAutofill(again);
    }
    if (res.data.error === "unknown_credential" && res.data.signal && res.data.signal.unknown &&
        typeof PublicKeyCredential.signalUnknownCredential === "function") {
      PublicKeyCredential.signalUnknownCredential(res.data.signal.unknown).catch(() => {});
    }
    throw new Refused(res);
  }

  function setupLogin() {
    const box = $("passkey-login");
    if (!box) return;
    box.hidden = false;
    $("passkey-signin").addEventListener("click", async () => {
      clearError();
      // Only one WebAuthn request may be pending: cancel the autofill one.
      if (conditional) {
        conditional.abort();
        conditional = null;
      }
      clearTimeout(renewTimer);
      try {
        await signIn({ options: "/login/passkey/options", body: { conditional: false }, finish: "/login/passkey" });
      } catch (err) {
        showError(err);
        offerAutofill();
      }
    });
    offerAutofill();
  }

  // ---- second factor after the password, and re-authentication.

  function setupButton(id, flow) {
    const btn = $(id);
    if (!btn) return;
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      clearError();
      btn.disabled = true;
      try {
        await signIn(flow());
      } catch (err) {
        showError(err);
      } finally {
        btn.disabled = false;
      }
    });
  }

  // ---- account page: add a passkey, and the Signal API after a removal.

  function setupAdd() {
    const form = $("passkey-add-form");
    if (!form) return;
    form.hidden = false;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearError();
      const btn = $("passkey-add");
      btn.disabled = true;
      try {
        const data = await begin("/account/passkeys/options", {});
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(data.options.publicKey);
        const cred = await navigator.credentials.create({ publicKey });
        const res = await post("/account/passkeys", { name: $("passkey-name").value, credential: cred.toJSON() });
        if (!res.ok) throw new Refused(res);
        window.location.assign(res.data.redirect);
      } catch (err) {
        showError(err);
      } finally {
        btn.disabled = false;
      }
    });
  }

  // signalRemoval tells the browser (or password manager) that a passkey
  // was removed, so it stops offering it: the payloads come from the
  // server's removal. The outcome is kept in data-result for the curious.
  async function signalRemoval() {
    const el = $("passkey-signal");
    if (!el) return;
    const done = [];
    try {
      if (typeof PublicKeyCredential.signalUnknownCredential === "function") {
        await PublicKeyCredential.signalUnknownCredential(JSON.parse(el.dataset.unknown));
        done.push("unknown");
      }
      if (typeof PublicKeyCredential.signalAllAcceptedCredentials === "function") {
        await PublicKeyCredential.signalAllAcceptedCredentials(JSON.parse(el.dataset.allAccepted));
        done.push("all-accepted");
      }
      el.dataset.result = done.length ? done.join(" ") : "unsupported";
    } catch (err) {
      el.dataset.result = "error " + (err && err.name ? err.name : "");
    }
  }

  function init() {
    if (!supported()) return;
    setupLogin();
    setupButton("passkey-mfa", () => ({ options: "/login/mfa/passkey/options", finish: "/login/mfa/passkey" }));
    setupButton("passkey-reauth", () => ({
      options: "/reauth/passkey/options",
      finish: "/reauth/passkey",
      extra: { return_to: $("reauth-return-to").value },
    }));
    setupAdd();
    signalRemoval();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
