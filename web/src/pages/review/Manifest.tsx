import type { ReactNode } from "react";

// Manifest keys as headings: "support_url" -> "Support url".
function keyLabel(key: string): string {
  const words = key.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function renderValue(value: unknown): ReactNode {
  if (value === null || value === undefined || value === "") return <span className="muted">not set</span>;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    return value.includes("\n") ? <pre className="manifest-text">{value}</pre> : value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">none</span>;
    return (
      <ol className="manifest-list">
        {value.map((item, index) => (
          <li key={index}>{renderValue(item)}</li>
        ))}
      </ol>
    );
  }
  return <ManifestEntries entries={value as Record<string, unknown>} />;
}

function ManifestEntries({ entries }: { entries: Record<string, unknown> }) {
  const keys = Object.keys(entries);
  if (keys.length === 0) return <span className="muted">empty</span>;
  return (
    <dl className="manifest">
      {keys.map((key) => (
        <div key={key} className="manifest-entry">
          <dt>{keyLabel(key)}</dt>
          <dd>{renderValue(entries[key])}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Render the manifest a publisher submitted in a round, every item as submitted. */
export function ManifestView({ manifest }: { manifest: Record<string, unknown> }) {
  return <ManifestEntries entries={manifest} />;
}
