/**
 * Where a GameServer's container runs: on GKE a pod; on one machine a process group
 * started by the process runner. The GameServer controller talks to this interface only.
 */
import type { Container } from '../../agones/types.ts';

export interface RunSpec {
  /** `<namespace>/<name>`: one run per key at a time. */
  key: string;
  namespace: string;
  name: string;
  /** The GameServer's container, from its pod template. */
  container: Container;
  /** Added to the container's env: SDK ports, port numbers, CUDA_VISIBLE_DEVICES. */
  env: Record<string, string>;
  /** SIGTERM → SIGKILL when stopped. Kubernetes' default is 30 s. */
  terminationGracePeriodSeconds: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of its output, for the reason of an Unhealthy. */
  lastLines: string[];
}

export interface RunHandle {
  /** Process id (0 for runners without processes). */
  pid: number;
  /** Resolves when the run ends, for whatever reason (also after stop()). */
  exited: Promise<ExitStatus>;
}

export interface GameServerRunner {
  /**
   * Starts the container. Resolves once started (not once it is Ready); rejects when it
   * cannot start at all (command not found, bad spec) with a message for the user.
   */
  start(spec: RunSpec): Promise<RunHandle>;
  /** SIGTERM to the whole group, SIGKILL after the grace period; resolves when gone. No-op for an unknown key. */
  stop(key: string): Promise<void>;
  /** Stops every run (control plane shutting down). */
  stopAll(): Promise<void>;
  /**
   * SIGKILL to every run's process group, at once and synchronously: the process is about
   * to exit without waiting (a second Ctrl-C), and nothing it started may outlive it.
   * Optional: runners whose runs cannot outlive them have nothing to do.
   */
  killAllNow?(): void;
  /** Whether a run for the key is alive. */
  running(key: string): boolean;
  /**
   * Ends what a previous control plane (one killed before it could stop its runs) left
   * running for this GameServer, so a GameServer this control plane cannot follow holds no
   * port, GPU or process. Resolves with the process id ended, or undefined when nothing of
   * it was left. Optional: runners whose runs cannot outlive them have nothing to do.
   */
  stopLeftover?(namespace: string, name: string): Promise<number | undefined>;
}
