// The public face of the sim-webui: start one, read its options, read infotexts back.
export { startSimWebui, type SimWebui, type SimWebuiStats, type SimWebuiStop } from './server.ts';
export { SIM_WEBUI_DEFAULTS, type SimWebuiOptions } from './options.ts';
export { PROGRESS_SOCKET_PATH, type ProgressMessage } from './progress-socket.ts';
export type { ProgressResponse, StateDict } from './job-state.ts';
export type { Txt2ImgResponse } from './engine.ts';
export type { Txt2ImgRequest } from './txt2img-request.ts';
export type { Checkpoint } from './checkpoints.ts';
export { readPngText } from './png.ts';
