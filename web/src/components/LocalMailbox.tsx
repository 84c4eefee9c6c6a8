import { api } from "../api/client";

/**
 * Check whether this store keeps emails in its local mailbox and lets this browser read
 * the address's messages. That is true on a development `make run`, and false with a real
 * mail server.
 */
export async function mailboxReadable(email: string): Promise<boolean> {
  const { response } = await api.GET("/api/notifications/mailbox", { params: { query: { to: email, limit: 1 } } });
  return response.ok;
}

/** Render a link to the local mailbox's messages for `email`, for a store whose mailbox is readable. */
export function LocalMailboxLink({ email }: { email: string }) {
  return (
    <p className="muted">
      This store keeps emails in its local mailbox (development mode):{" "}
      <a href={`/api/notifications/mailbox?to=${encodeURIComponent(email)}`}>read the messages for {email}</a>.
    </p>
  );
}
