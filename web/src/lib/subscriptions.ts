import { useCallback, useEffect, useState } from "react";
import { api } from "../api/client";
import { problemMessage } from "../api/problem";
import { applyChange, type Subscription, type Topic } from "./notices";

// NOTE: only the first 200 subscriptions are read. The list endpoint pages beyond that, so
// for a customer with more, the rest show as off.
const LIMIT = 200;

/** Load the signed-in user's notice subscriptions, and offer a switch for one topic of one product or organisation. */
export function useSubscriptions() {
  const [subscriptions, setSubscriptions] = useState<Subscription[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.GET("/api/notifications/subscriptions", { params: { query: { limit: LIMIT } } }).then(({ data, error }) => {
      if (data) setSubscriptions(data.items);
      else setError(problemMessage(error, "Your notice settings could not be loaded"));
    });
  }, []);

  const toggle = useCallback(async (topic: Topic, scopeId: string, on: boolean) => {
    const path = { topic, scope_id: scopeId };
    const result = on
      ? await api.PUT("/api/notifications/subscriptions/{topic}/{scope_id}", { params: { path } })
      : await api.DELETE("/api/notifications/subscriptions/{topic}/{scope_id}", { params: { path } });
    if (result.error) {
      setError(problemMessage(result.error, "The notice setting was not saved"));
      return false;
    }
    setError(null);
    const returned = on ? (result.data as Subscription) : null;
    setSubscriptions((previous) => applyChange(previous ?? [], topic, scopeId, returned));
    return true;
  }, []);

  return { subscriptions, error, toggle };
}
