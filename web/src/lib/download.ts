/** Return the file name a Content-Disposition header names (RFC 6266), else the fallback. */
export function filenameFromDisposition(header: string | null | undefined, fallback: string): string {
  if (!header) return fallback;

  // filename* carries a percent-encoded UTF-8 name and wins over the plain parameter.
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return safeName(decodeURIComponent(extended[1].trim()), fallback);
    } catch {
      // A malformed escape: fall through to the plain parameter.
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(header);
  if (quoted) return safeName(quoted[1].replace(/\\(.)/g, "$1"), fallback);
  const bare = /filename\s*=\s*([^;\s]+)/.exec(header);
  if (bare) return safeName(bare[1], fallback);
  return fallback;
}

// Browsers strip folders from a download name anyway; dropping them here keeps the
// name the user sees equal to the saved one.
function safeName(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop()?.trim() ?? "";
  return base || fallback;
}

/** Save a blob as a download with the given file name. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoke after the click has been handled, or some browsers cancel the download.
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
