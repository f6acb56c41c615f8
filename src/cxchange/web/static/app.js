// Small helpers shared by the pages (no build step). cx.api() sends the session's CSRF token.
window.cx = {
  csrf: () => document.querySelector('meta[name="csrf-token"]')?.content || "",
  async api(path, options = {}) {
    const headers = Object.assign({ "X-CSRF-Token": cx.csrf() }, options.headers || {});
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    const res = await fetch(path, Object.assign({}, options, { headers, credentials: "same-origin" }));
    const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
    if (!res.ok) throw new Error((body && body.detail) || res.statusText);
    return body;
  },
};
