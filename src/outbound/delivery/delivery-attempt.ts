import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { attemptResponseIn, DataCipher, sealedIn } from '../../platform/crypto/data-cipher';
import { signDelivery } from '../endpoints/endpoint-secret';
import { DeliveryClient } from './delivery.client';
import { AttemptFailure, classifyStatus, classifyTransport } from './delivery-outcome';
import { AttemptRecord, DeliveryRepository, DeliveryTarget, EndpointSealed } from './delivery.repository';

/** One attempt: what to record, and how it failed (undefined: the subscriber answered 2xx). */
export interface AttemptResult {
  record: AttemptRecord;
  failure?: AttemptFailure;
}

/** An endpoint's secrets and custom headers, decrypted, for one version of its sealed fields. */
interface OpenedEndpoint {
  version: number;
  /** The current secret, then the previous ones still inside their grace period (newest first). */
  signing: string[];
  /** Epoch milliseconds, one per previous secret: it stops signing then. */
  previousUntil: number[];
  /** The earliest of them: until then `signing` holds without looking (epoch ms). */
  signingUntil: number;
  /** Its custom headers, then ours, as undici's flat name/value list; the signature headers follow. */
  headers: string[];
}

/** An attempt's body and endpoint, read (prepare) before its turn. */
export interface PreparedAttempt {
  body: string;
  endpoint: OpenedEndpoint;
}

/** A previous secret whose grace period ended while its endpoint was opened stops signing. */
function dropExpiredSecrets(endpoint: OpenedEndpoint, now: number): void {
  const kept = endpoint.previousUntil.flatMap((until, i) => (until > now ? [i] : []));
  endpoint.signing = [endpoint.signing[0], ...kept.map((i) => endpoint.signing[i + 1])];
  endpoint.previousUntil = kept.map((i) => endpoint.previousUntil[i]);
  endpoint.signingUntil = Math.min(Infinity, ...endpoint.previousUntil);
}

/** Event bodies kept for the deliveries still to come (bytes, as string length). */
const BODY_CACHE_BYTES = 32 * 1024 * 1024;
const LARGEST_CACHED_BODY = 1024 * 1024;

/**
 * Sign, post, classify: builds the Standard Webhooks request (the event's body, read and built once per
 * event; the endpoint's secrets and headers, decrypted once per version of them), sends it and says how
 * it ended. It records nothing.
 */
@Injectable()
export class DeliveryAttempt {
  /** Event bodies for the deliveries still to come; larger bodies are read per delivery. */
  private readonly bodies = new LRUCache<string, string>({
    maxSize: BODY_CACHE_BYTES,
    maxEntrySize: LARGEST_CACHED_BODY,
    sizeCalculation: (body) => body.length,
  });
  private readonly loadingBodies = new Map<string, Promise<string>>();
  private readonly openedEndpoints = new LRUCache<string, OpenedEndpoint>({ max: 10_000 });

  constructor(
    private readonly cipher: DataCipher,
    private readonly deliveries: DeliveryRepository,
    private readonly client: DeliveryClient,
  ) {}

  /**
   * What an attempt needs that may take a read: the event's body and the endpoint's secrets and headers. Read
   * before the endpoint's turn is taken, so nothing slow comes between its rate limiter's gate and the request.
   * Undefined: the endpoint was deleted since its target row was read.
   */
  async prepare(target: DeliveryTarget): Promise<PreparedAttempt | undefined> {
    const body = this.bodies.get(target.eventId) ?? (await this.body(target));
    const opened = this.openedEndpoints.get(target.endpointId);
    const endpoint = opened?.version === target.sealedVersion ? opened : await this.open(target.endpointId);
    return endpoint && { body, endpoint };
  }

  async make(target: DeliveryTarget, { body, endpoint }: PreparedAttempt, timeoutMs: number): Promise<AttemptResult> {
    const now = Date.now();
    if (now >= endpoint.signingUntil) dropExpiredSecrets(endpoint, now);
    const headers = endpoint.headers.concat(signDelivery(endpoint.signing, target.eventId, now, body));
    const started = performance.now();
    let failure: AttemptFailure | undefined;
    let responseCode: number | null = null;
    let responseBytes: number | null = null;
    let responseSealed: Buffer | null = null;
    try {
      const response = await this.client.post({ url: target.url as string, headers, body, timeoutMs });
      responseCode = response.statusCode;
      responseBytes = response.bodyBytes;
      if (response.statusCode < 200 || response.statusCode >= 300) {
        failure = classifyStatus(response.statusCode, response.retryAfter);
        // Whatever it holds (our own payload echoed, a NUL): bytes, sealed. A 2xx answer is not kept.
        if (response.kept?.length)
          responseSealed = this.cipher.encrypt(response.kept, attemptResponseIn(target.id, target.attempts + 1));
      }
    } catch (error) {
      failure = classifyTransport(error);
    }
    const record: AttemptRecord = {
      deliveryId: target.id,
      endpointId: target.endpointId,
      eventId: target.eventId,
      attempt: target.attempts + 1,
      category: failure?.category ?? null,
      responseCode,
      durationMs: Math.round(performance.now() - started),
      responseBytes,
      responseSealed,
    };
    return { record, failure };
  }

  /**
   * The endpoint's secrets and custom headers, decrypted once per version of them (a rotation or a PATCH
   * bumps it): target rows carry the version, not the sealed bytes. Concurrent reads share one statement
   * (the repository's group commit); the map is bounded. Undefined: the endpoint is gone.
   */
  private async open(endpointId: string): Promise<OpenedEndpoint | undefined> {
    const sealed = await this.deliveries.endpointSealed(endpointId);
    return sealed && this.opened(endpointId, sealed);
  }

  private opened(endpointId: string, sealed: EndpointSealed): OpenedEndpoint {
    // Deliveries that asked together share the read; the first to get it decrypts for the rest. A read that
    // started before a newer version was opened does not replace it.
    const cached = this.openedEndpoints.get(endpointId);
    if (cached && cached.version >= sealed.sealedVersion) return cached;
    const custom = sealed.headersSealed
      ? this.cipher.decryptJson<Record<string, string>>(
          sealed.headersSealed,
          sealedIn('outbound_endpoints.headers', endpointId),
        )
      : {};
    const secretOf = sealedIn('outbound_endpoints.secret', endpointId);
    const opened: OpenedEndpoint = {
      version: sealed.sealedVersion,
      signing: [sealed.secretSealed, ...sealed.previousSecretsSealed].map((secret) =>
        this.cipher.decryptText(secret, secretOf),
      ),
      previousUntil: sealed.previousSecretsUntilMs,
      signingUntil: Math.min(Infinity, ...sealed.previousSecretsUntilMs),
      headers: [
        // Names are validated when stored (none of ours, none of webhook-*), but a user-agent is ours to send.
        ...Object.entries(custom).flatMap(([name, value]) =>
          name.toLowerCase() === 'user-agent' ? [] : [name, value],
        ),
        'content-type',
        'application/json',
        'user-agent',
        'Switchboard-Webhooks/1.0',
      ],
    };
    this.openedEndpoints.set(endpointId, opened);
    return opened;
  }

  /** `{"type","timestamp","data"}`, built once per event (the same bytes go to every endpoint). */
  private async body(target: DeliveryTarget): Promise<string> {
    const cached = this.bodies.get(target.eventId);
    if (cached !== undefined) return cached;
    // The batches of one event start together: they share one read of its data.
    let loading = this.loadingBodies.get(target.eventId);
    if (!loading) {
      loading = this.loadBody(target).finally(() => this.loadingBodies.delete(target.eventId));
      this.loadingBodies.set(target.eventId, loading);
    }
    return loading;
  }

  private async loadBody(target: DeliveryTarget): Promise<string> {
    const sealed = await this.deliveries.eventData(target.eventId);
    const data = sealed ? this.cipher.decryptText(sealed, sealedIn('outbound_events.data', target.eventId)) : 'null';
    const body = `{"type":${JSON.stringify(target.eventType)},"timestamp":${JSON.stringify(
      new Date(target.eventCreatedMs).toISOString(),
    )},"data":${data}}`;
    if (body.length <= LARGEST_CACHED_BODY) this.bodies.set(target.eventId, body);
    return body;
  }
}
