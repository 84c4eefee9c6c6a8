import { useEffect, useState } from "react";
import { api } from "../api/client";

// Ids per request, the maximum that identity's GET /staff/users accepts.
const MAX_IDS = 200;

/**
 * Return the usernames of these account ids, read from identity for staff pages.
 *
 * Only staff may read names, so `enabled` is false for everyone else. An id stays out of
 * the map until its name arrives, and for good when identity does not know it or the
 * request fails, so callers show the id instead.
 */
export function useUserNames(ids: readonly (string | null | undefined)[], enabled: boolean): Map<string, string> {
  const [names, setNames] = useState<Map<string, string>>(() => new Map());
  const uniqueIds = [...new Set(ids.filter((id): id is string => Boolean(id)))].sort();
  const key = uniqueIds.join(",");

  useEffect(() => {
    if (!enabled || uniqueIds.length === 0) return;
    let current = true;
    void (async () => {
      const found = new Map<string, string>();
      for (let start = 0; start < uniqueIds.length; start += MAX_IDS) {
        const { data } = await api.GET("/api/identity/staff/users", {
          params: { query: { id: uniqueIds.slice(start, start + MAX_IDS) } },
        });
        for (const user of data ?? []) found.set(user.user_id, user.username);
      }
      if (current) setNames((known) => new Map([...known, ...found]));
    })();
    return () => {
      current = false;
    };
    // `key` stands for the set of ids.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, enabled]);

  return names;
}
