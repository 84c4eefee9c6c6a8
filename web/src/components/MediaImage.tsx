import { useEffect, useState, type ImgHTMLAttributes } from "react";
import { fetchWithToken } from "../api/client";
import { mediaSource } from "../api/media";
import { useSession } from "../auth/session";

/**
 * Return the `src` for a catalog image, or undefined while it loads. The catalog serves the
 * images of an unpublished listing only to its organisation and staff, and an `<img>`
 * request carries no token. So for a signed-in user the hook fetches the image with the
 * session's token and returns a `blob:` URL. Anonymous visitors, and images on other
 * origins, get the plain address.
 */
export function useMediaSource(url: string): string | undefined {
  const { me, restoring } = useSession();
  const address = mediaSource(url);
  const sameOrigin = address.startsWith("/") && !address.startsWith("//");
  const withToken = !!me && sameOrigin;
  const [blobSource, setBlobSource] = useState<{ address: string; src: string } | null>(null);

  useEffect(() => {
    if (!withToken) return;
    let objectUrl: string | null = null;
    let current = true;
    fetchWithToken(address)
      .then(async (response) => {
        if (!response.ok) throw new Error(`GET ${address} returned ${response.status}`);
        const blob = await response.blob();
        if (!current) return;
        objectUrl = URL.createObjectURL(blob);
        setBlobSource({ address, src: objectUrl });
      })
      .catch(() => {
        // The plain address lets the browser show the alt text as for any missing image.
        if (current) setBlobSource({ address, src: address });
      });
    return () => {
      current = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [address, withToken]);

  // Until the sign-in is restored, the plain address could fail for an unpublished image.
  if (restoring && sameOrigin) return undefined;
  if (!withToken) return address;
  return blobSource?.address === address ? blobSource.src : undefined;
}

type MediaImageProps = Omit<ImgHTMLAttributes<HTMLImageElement>, "src"> & { url: string; alt: string };

/** Render a catalog image, including one that the signed-in user's organisation has not published yet. */
export function MediaImage({ url, alt, ...image }: MediaImageProps) {
  const src = useMediaSource(url);
  // A same-sized box while the image loads keeps the layout still.
  if (!src) return <span className="media-loading" aria-hidden="true" style={{ width: image.width, height: image.height }} />;
  return <img src={src} alt={alt} {...image} />;
}
