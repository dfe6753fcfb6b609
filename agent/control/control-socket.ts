/** The running agent's control socket, in its state directory. */
export const CONTROL_SOCKET = 'agent.sock';
