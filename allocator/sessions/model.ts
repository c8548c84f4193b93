import type { GameServer } from '../../fleet/agones/types.ts';
import {
  ANNOTATION_ALLOCATED_AT, ANNOTATION_RELEASE, ANNOTATION_SESSION, ANNOTATION_USER_ID, LABEL_USER, SDK_ANNOTATION, sdkKey,
} from '../../fleet/agones/metadata.ts';

/** Annotation: the profile a session was allocated for. */
export const ANNOTATION_PROFILE = 'sdfleet.dev/profile';
/** Annotation: last user traffic through any allocator replica (RFC 3339), written at most every 30 s. */
export const ANNOTATION_LAST_TRAFFIC = 'sdfleet.dev/last-traffic';
/** Annotation: last "I'm still here" (RFC 3339). */
export const ANNOTATION_KEEPALIVE = 'sdfleet.dev/keepalive-at';
/** Annotation on a GameServer the controller gave up on (Error, Unhealthy). */
export const ANNOTATION_STATE_REASON = 'sdfleet.dev/state-reason';

export type SessionState = 'active' | 'releasing' | 'gone';

/** A user's session, read off their GameServer: nothing else holds it. */
export interface Session {
  id: string;
  /** userKey of the owner (label sdfleet.dev/user). */
  user: string;
  /** The owner as signed in (annotation sdfleet.dev/user-id). */
  userId: string;
  gameServer: string;
  namespace: string;
  profile: string;
  state: SessionState;
  /** Why it is releasing or gone (release reason, or the instance's failure). */
  reason?: string;
  address: string;
  /** The WebUI's port on `address`. */
  port: number | undefined;
  allocatedAt: string;
  /** The wrapper's activity report. */
  generating: boolean;
  /** Latest of: allocation, user traffic, keep-alive, a generation. */
  lastActivity: string;
}

function latest(...times: (string | undefined)[]): string {
  let best = 0;
  for (const t of times) {
    const ms = t ? Date.parse(t) : NaN;
    if (Number.isFinite(ms) && ms > best) best = ms;
  }
  return new Date(best).toISOString();
}

/** The session a GameServer holds, or undefined when it holds none (not allocated to a user). */
export function sessionOf(gs: GameServer, webuiPort = 'webui'): Session | undefined {
  const labels = gs.metadata.labels ?? {};
  const ann = gs.metadata.annotations ?? {};
  const user = labels[LABEL_USER];
  if (!user) return undefined;
  const st = gs.status?.state;
  if (st !== 'Allocated' && st !== 'Shutdown' && st !== 'Unhealthy' && st !== 'Error') return undefined;
  let activity: { generating?: boolean; lastActivity?: string } = {};
  try {
    activity = JSON.parse(ann[sdkKey(SDK_ANNOTATION.activity)] ?? '{}') as typeof activity;
  } catch {
    // a malformed report counts as none
  }
  const release = ann[ANNOTATION_RELEASE];
  const gone = st !== 'Allocated' || gs.metadata.deletionTimestamp !== undefined;
  const allocatedAt = ann[ANNOTATION_ALLOCATED_AT] ?? ann['agones.dev/last-allocated'] ?? gs.metadata.creationTimestamp ?? new Date(0).toISOString();
  const generating = activity.generating === true;
  return {
    id: ann[ANNOTATION_SESSION] ?? gs.metadata.name!,
    user,
    userId: ann[ANNOTATION_USER_ID] ?? user,
    gameServer: gs.metadata.name!,
    namespace: gs.metadata.namespace ?? 'default',
    profile: ann[ANNOTATION_PROFILE] ?? 'default',
    state: gone ? 'gone' : release !== undefined ? 'releasing' : 'active',
    ...(gone ? { reason: failureReason(gs) ?? (release ? `released (${release})` : `instance ${st}`) } : release !== undefined ? { reason: release || 'released' } : {}),
    address: gs.status?.address ?? '',
    port: gs.status?.ports?.find((p) => p.name === webuiPort)?.port ?? gs.status?.ports?.[0]?.port,
    allocatedAt,
    generating,
    lastActivity: generating ? new Date().toISOString() : latest(allocatedAt, ann[ANNOTATION_LAST_TRAFFIC], ann[ANNOTATION_KEEPALIVE], activity.lastActivity),
  };
}

/** What the wrapper or the controller said went wrong, in one line. */
export function failureReason(gs: GameServer): string | undefined {
  const ann = gs.metadata.annotations ?? {};
  const failure = ann[sdkKey(SDK_ANNOTATION.failure)];
  if (failure) {
    try {
      return String((JSON.parse(failure) as { reason?: string }).reason ?? '').split('\n')[0] || undefined;
    } catch {
      return undefined;
    }
  }
  return ann[ANNOTATION_STATE_REASON];
}
