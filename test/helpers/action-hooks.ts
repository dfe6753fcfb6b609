import type { ActionHooks } from '../../agent/session/session-actions.js';

/** Session action hooks of a PC with nothing on it (no devices, no tests, no config file); a test overrides what it exercises. */
export function actionHooks(overrides: Partial<ActionHooks> = {}): ActionHooks {
  return {
    reprobe: () => Promise.resolve({ at: new Date().toISOString(), devices: [], sources: [] }),
    inventory: () => undefined,
    health: () => Promise.resolve(undefined),
    recentLog: () => [],
    runTest: () => Promise.reject(new Error('no tests here')),
    restart: () => undefined,
    configFile: undefined,
    secrets: [],
    cameras: { serialPorts: [], viscaIp: [] },
    daemonState: () => undefined,
    ...overrides,
  };
}
