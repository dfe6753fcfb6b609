/**
 * What an IT teacher runs on each classroom PC to join it to the cloud with a fresh enrollment
 * token: the CLI prints it and the console shows it to copy, word for word the same.
 */
export function enrollCommands(cloudUrl: string, token: string, roomId: string | null): { install: string; enroll: string } {
  const url = cloudUrl.replace(/\/+$/, '');
  return {
    install: `sudo bash install.sh --cloud ${url} --token ${token}${roomId === null ? ' --room ROOM' : ''}`,
    enroll: `avcare-agent enroll --cloud ${url} --token ${token}`,
  };
}
