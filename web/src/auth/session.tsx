import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { api, setAccessToken, type Schemas } from "../api/client";
import { problemMessage } from "../api/problem";

type Me = Schemas["identity.MeOut"];

interface Session {
  me: Me | null;
  // True until the first attempt to restore a sign-in from the refresh token finishes.
  restoring: boolean;
  login(username: string, password: string): Promise<string | null>;
  logout(): Promise<void>;
  reload(): Promise<void>;
  // Exchange the refresh token for a new access token, e.g. to pick up a new membership.
  refresh(): Promise<void>;
}

// The refresh token is kept in sessionStorage, so a reload keeps the user signed in
// while closing the tab signs them out. Identity rotates it on every refresh and
// revokes the whole sign-in when a used one is presented again.
const REFRESH_KEY = "wharf.refresh_token";

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession needs a SessionProvider");
  return session;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [restoring, setRestoring] = useState(true);
  const refreshTimer = useRef<number | undefined>(undefined);

  const loadMe = useCallback(async () => {
    const { data } = await api.GET("/api/identity/users/me");
    setMe(data ?? null);
  }, []);

  const adopt = useCallback(
    async (session: Schemas["identity.SessionOut"]) => {
      setAccessToken(session.access_token);
      sessionStorage.setItem(REFRESH_KEY, session.refresh_token);

      // Refresh a minute before the access token expires.
      window.clearTimeout(refreshTimer.current);
      const delay = Math.max(session.expires_in - 60, 30) * 1000;
      refreshTimer.current = window.setTimeout(() => void refresh(), delay);
      await loadMe();
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [loadMe],
  );

  const forget = useCallback(() => {
    window.clearTimeout(refreshTimer.current);
    setAccessToken(null);
    sessionStorage.removeItem(REFRESH_KEY);
    setMe(null);
  }, []);

  // Identity rotates the refresh token on each use and ends the whole sign-in when an
  // old one comes back, so two refreshes must never run at once: callers share one.
  const inFlight = useRef<Promise<void> | null>(null);
  const refresh = useCallback(() => {
    if (!inFlight.current) {
      inFlight.current = (async () => {
        const refreshToken = sessionStorage.getItem(REFRESH_KEY);
        if (!refreshToken) return;
        const { data } = await api.POST("/api/identity/sessions/refresh", { body: { refresh_token: refreshToken } });
        if (data) await adopt(data);
        else forget();
      })().finally(() => {
        inFlight.current = null;
      });
    }
    return inFlight.current;
  }, [adopt, forget]);

  useEffect(() => {
    refresh().finally(() => setRestoring(false));
    return () => window.clearTimeout(refreshTimer.current);
  }, [refresh]);

  const login = useCallback(
    async (username: string, password: string) => {
      const { data, error } = await api.POST("/api/identity/sessions", { body: { username, password } });
      if (!data) return problemMessage(error, "Sign-in failed");
      await adopt(data);
      return null;
    },
    [adopt],
  );

  const logout = useCallback(async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (refreshToken) await api.POST("/api/identity/sessions/logout", { body: { refresh_token: refreshToken } });
    forget();
  }, [forget]);

  return (
    <SessionContext.Provider value={{ me, restoring, login, logout, reload: loadMe, refresh }}>{children}</SessionContext.Provider>
  );
}
