/** SIGKILL a process group (a GameServer or a server the test started as a group leader), or the process alone when it leads none. Quiet when gone. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
