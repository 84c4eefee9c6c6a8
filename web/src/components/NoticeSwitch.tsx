import { useState } from "react";
import type { Topic } from "../lib/notices";

interface NoticeSwitchProps {
  label: string;
  topic: Topic;
  scopeId: string;
  on: boolean;
  toggle(topic: Topic, scopeId: string, on: boolean): Promise<boolean>;
}

/** Render a checkbox that subscribes to or leaves one notice topic, disabled while the change is saved. */
export function NoticeSwitch({ label, topic, scopeId, on, toggle }: NoticeSwitchProps) {
  const [busy, setBusy] = useState(false);
  return (
    <label className="inline">
      <input
        type="checkbox"
        checked={on}
        disabled={busy}
        onChange={async (event) => {
          setBusy(true);
          await toggle(topic, scopeId, event.target.checked);
          setBusy(false);
        }}
      />{" "}
      {label}
    </label>
  );
}
