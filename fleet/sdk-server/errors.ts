import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * An SDK call the server refuses, with the gRPC status code Agones uses for it. The HTTP
 * gateway maps the code to an HTTP status the way grpc-gateway does.
 */
export class SdkError extends Error {
  readonly grpcCode: GrpcStatus;
  constructor(grpcCode: GrpcStatus, message: string) {
    super(message);
    this.name = 'SdkError';
    this.grpcCode = grpcCode;
  }
}

/** grpc-gateway's mapping from gRPC codes to HTTP statuses (runtime.HTTPStatusFromCode). */
export function httpStatusOf(code: GrpcStatus): number {
  switch (code) {
    case GrpcStatus.OK: return 200;
    case GrpcStatus.CANCELLED: return 499;
    case GrpcStatus.INVALID_ARGUMENT: return 400;
    case GrpcStatus.DEADLINE_EXCEEDED: return 504;
    case GrpcStatus.NOT_FOUND: return 404;
    case GrpcStatus.ALREADY_EXISTS: return 409;
    case GrpcStatus.PERMISSION_DENIED: return 403;
    case GrpcStatus.UNAUTHENTICATED: return 401;
    case GrpcStatus.RESOURCE_EXHAUSTED: return 429;
    case GrpcStatus.FAILED_PRECONDITION: return 400;
    case GrpcStatus.ABORTED: return 409;
    case GrpcStatus.OUT_OF_RANGE: return 400;
    case GrpcStatus.UNIMPLEMENTED: return 501;
    case GrpcStatus.UNAVAILABLE: return 503;
    default: return 500;
  }
}

export { GrpcStatus };
