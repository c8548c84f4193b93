/**
 * sdfleet's own labels and annotations on GameServers: who owns a session lives on the
 * GameServer itself (DESIGN.md, "State lives in the control plane").
 */

/** Label: a hash of the owner's identity, valid as a label value and as a folder name. */
export const LABEL_USER = 'sdfleet.dev/user';
/** Annotation: the owner's identity as signed in (e-mail, name). */
export const ANNOTATION_USER_ID = 'sdfleet.dev/user-id';
/** Annotation: the session id. */
export const ANNOTATION_SESSION = 'sdfleet.dev/session';
/** Annotation: RFC 3339 time of the allocation. */
export const ANNOTATION_ALLOCATED_AT = 'sdfleet.dev/allocated-at';
/** Annotation: release requested, with the reason: user, idle, admin. */
export const ANNOTATION_RELEASE = 'sdfleet.dev/release';

/**
 * Keys the wrapper sets through the SDK; Agones stores them with the `agones.dev/sdk-`
 * prefix (see `sdkKey`).
 */
export const SDK_ANNOTATION = {
  /** JSON PhaseSummary: start-up phase durations. */
  phases: 'sdfleet-phases',
  /** JSON {generating, lastActivity, generations}: what the idle reclaimer reads. */
  activity: 'sdfleet-activity',
  /** JSON {reason, code, signal, lastLines, at}: why the instance failed. */
  failure: 'sdfleet-failure',
  /** JSON {reason, at, interrupted, files}: how a release went. */
  released: 'sdfleet-released',
} as const;

/** The key under which Agones stores an SDK-set annotation or label. */
export function sdkKey(key: string): string {
  return `agones.dev/sdk-${key}`;
}
