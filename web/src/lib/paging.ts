import { useCallback, useEffect, useRef, useState } from "react";
import { problemMessage } from "../api/problem";

export interface PageResult<T> {
  data?: { items: T[]; next_cursor?: string | null };
  error?: unknown;
}

export interface PagedList<T> {
  // Null until the first page arrives.
  items: T[] | null;
  error: string | null;
  hasMore: boolean;
  loading: boolean;
  loadMore(): Promise<void>;
  reload(): Promise<void>;
}

/**
 * Load a cursor-paged API list: the first page whenever `fetchPage` changes (wrap it in
 * useCallback with its filters), and further pages on `loadMore`. A response that
 * arrives after the filters changed is dropped.
 */
export function usePagedList<T>(fetchPage: (cursor?: string) => Promise<PageResult<T>>, failure: string): PagedList<T> {
  const [items, setItems] = useState<T[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    const { data, error } = await fetchPage();
    if (mine !== generation.current) return;
    setLoading(false);
    if (data) {
      setItems(data.items);
      setCursor(data.next_cursor ?? null);
    } else {
      setItems([]);
      setCursor(null);
      setError(problemMessage(error, failure));
    }
  }, [fetchPage, failure]);

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const mine = generation.current;
    setLoading(true);
    const { data, error } = await fetchPage(cursor);
    if (mine !== generation.current) return;
    setLoading(false);
    if (data) {
      setItems((previous) => [...(previous ?? []), ...data.items]);
      setCursor(data.next_cursor ?? null);
    } else {
      setError(problemMessage(error, failure));
    }
  }, [cursor, fetchPage, failure]);

  useEffect(() => {
    setItems(null);
    void reload();
  }, [reload]);

  return { items, error, hasMore: cursor !== null, loading, loadMore, reload };
}
