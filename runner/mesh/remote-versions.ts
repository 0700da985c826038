// The Istio versions whose remote components (sidecar injector, Citadel, the `istio` ConfigMap) the istio_remote
// role renders from its own templates (roles/istio_remote/templates/istio-<minor>/). One definition: the inventory
// check refuses other versions before anything runs, and a test keeps this list equal to the template folders.
export const remoteComponentVersions = ['1.3'] as const;

/** `1.3.8` -> `1.3`; undefined when the text is not a version. */
export function minorOf(version: unknown): string | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(String(version ?? '').trim());
  return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}

/** Why `version` cannot get remote components, or undefined when meshplay knows it. */
export function remoteVersionProblem(version: unknown): string | undefined {
  const minor = minorOf(version);
  if (minor && (remoteComponentVersions as readonly string[]).includes(minor)) return undefined;
  return `istio_version ${JSON.stringify(version)}: meshplay renders the remote components (sidecar injector, Citadel) only for Istio ${remoteComponentVersions.join(', ')}`;
}
