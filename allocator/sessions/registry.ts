import { EventEmitter } from 'node:events';
import type { GameServer } from '../../fleet/agones/types.ts';
import { sessionOf, type Session } from './model.ts';

export interface SessionChange {
  user: string;
  /** The session now, undefined when the user has none any more. */
  session: Session | undefined;
  /** The session before the change. */
  previous: Session | undefined;
}

/**
 * Every session, indexed by user, id and GameServer, rebuilt from the GameServer
 * informer: after a restart the first list brings every session back. Emits `change`
 * (SessionChange) for each user whose session appeared, changed or went.
 */
export class SessionRegistry extends EventEmitter<{ change: [SessionChange] }> {
  #byGs = new Map<string, Session>();
  #byUser = new Map<string, Session>();
  #byId = new Map<string, Session>();

  /** Feed a GameServer add or update. */
  upsert(gs: GameServer): void {
    const name = gs.metadata.name!;
    const next = sessionOf(gs);
    const prev = this.#byGs.get(name);
    if (!next) {
      if (prev) this.remove(gs);
      return;
    }
    this.#byGs.set(name, next);
    this.#byId.set(next.id, next);
    // A user's live session wins over a gone one on another GameServer.
    const current = this.#byUser.get(next.user);
    if (!current || current.gameServer === name || current.state === 'gone' || next.state !== 'gone') this.#byUser.set(next.user, next);
    if (!sameSession(prev, next)) {
      this.emit('change', { user: next.user, session: this.#byUser.get(next.user), previous: prev });
    }
  }

  /** Feed a GameServer delete. */
  remove(gs: GameServer): void {
    const name = gs.metadata.name!;
    const prev = this.#byGs.get(name);
    if (!prev) return;
    this.#byGs.delete(name);
    if (this.#byId.get(prev.id)?.gameServer === name) this.#byId.delete(prev.id);
    if (this.#byUser.get(prev.user)?.gameServer === name) this.#byUser.delete(prev.user);
    const gone: Session = { ...prev, state: 'gone', reason: prev.state === 'releasing' ? `released (${prev.reason})` : prev.reason ?? 'the instance went away' };
    this.emit('change', { user: prev.user, session: undefined, previous: gone });
  }

  byUser(user: string): Session | undefined {
    return this.#byUser.get(user);
  }

  /** The user's session if it is live (active or releasing). */
  liveByUser(user: string): Session | undefined {
    const s = this.#byUser.get(user);
    return s && s.state !== 'gone' ? s : undefined;
  }

  /** The session on this GameServer (live or gone), if it holds one. */
  byGameServer(name: string): Session | undefined {
    return this.#byGs.get(name);
  }

  byId(id: string): Session | undefined {
    return this.#byId.get(id);
  }

  all(): Session[] {
    return [...this.#byGs.values()];
  }

  live(): Session[] {
    return this.all().filter((s) => s.state !== 'gone');
  }
}

/** Whether two readings of a session say the same (every field; they hold only strings, numbers and booleans). */
function sameSession(a: Session | undefined, b: Session): boolean {
  if (!a) return false;
  const fa = a as unknown as Record<string, unknown>;
  const fb = b as unknown as Record<string, unknown>;
  for (const k in fa) if (fa[k] !== fb[k]) return false;
  for (const k in fb) if (!(k in fa) && fb[k] !== undefined) return false;
  return true;
}
