import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { GameServer } from '../fleet/agones/types.ts';
import { LABEL_FLEET } from '../fleet/agones/types.ts';
import { matchesLabels, type GameServerSelector } from '../fleet/control-plane/controllers/allocation-decision.ts';

/**
 * A named choice a user makes before Start: which GameServers qualify, in preference
 * order (e.g. a model or a GPU type). Each becomes the selectors of a
 * GameServerAllocation.
 */
export interface Profile {
  name: string;
  title: string;
  description?: string;
  selectors: GameServerSelector[];
}

const selectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(z.object({ key: z.string(), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() })).optional(),
});
const profilesSchema = z.object({
  profiles: z.array(z.object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a profile name is lower-case letters, digits and -').max(40),
    title: z.string().min(1).max(80),
    description: z.string().max(400).optional(),
    selectors: z.array(selectorSchema).min(1),
  })).min(1),
});

export function defaultProfiles(fleet = 'sd-webui'): Profile[] {
  return [{ name: 'default', title: 'Stable Diffusion WebUI', description: 'The default model on one GPU', selectors: [{ matchLabels: { [LABEL_FLEET]: fleet } }] }];
}

/** Reads profiles from YAML (`profiles: [{name, title, description, selectors}]`), with messages naming the field. */
export async function loadProfiles(file: string): Promise<Profile[]> {
  const parsed = profilesSchema.safeParse(parseYaml(await readFile(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const names = new Set<string>();
  for (const p of parsed.data.profiles) {
    if (names.has(p.name)) throw new Error(`${file}: profile "${p.name}" appears twice`);
    names.add(p.name);
  }
  return parsed.data.profiles.map((p) => ({ ...p, selectors: p.selectors.map((s) => ({ ...s, gameServerState: 'Ready' as const })) }));
}

/** Whether a GameServer could serve a profile (any of its selectors' labels match). */
export function serves(profile: Profile, gs: GameServer): boolean {
  return profile.selectors.some((s) => matchesLabels(gs.metadata.labels, s));
}
