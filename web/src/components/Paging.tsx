import type { PagedList } from "../lib/paging";

/** Render the button that fetches the next page of a list, or nothing on the last page. */
export function LoadMore<T>({ list, noun }: { list: PagedList<T>; noun: string }) {
  if (!list.hasMore) return null;
  return (
    <p>
      <button type="button" onClick={() => void list.loadMore()} disabled={list.loading}>
        {list.loading ? "Loading…" : `Load more ${noun}`}
      </button>
    </p>
  );
}
