// @vitest-environment node
import { describe, expect, it } from "vitest";
import { base64ToBytes, decodePcm, pcm16ToFloat32 } from "./pcm";

/** Int16 samples as the server sends them: little-endian bytes, base64. */
function encode(samples: number[]): string {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (const [i, s] of samples.entries()) view.setInt16(i * 2, s, true);
  return btoa(String.fromCharCode(...bytes));
}

describe("PCM decoding", () => {
  it("reads 16-bit little-endian samples as floats in [-1, 1)", () => {
    const samples = decodePcm(encode([0, 16384, -16384, 32767, -32768, 1]));
    expect(Array.from(samples)).toEqual([0, 0.5, -0.5, 32767 / 32768, -1, 1 / 32768]);
  });

  it("is little-endian: the low byte comes first", () => {
    expect(Array.from(pcm16ToFloat32(new Uint8Array([0x00, 0x40])))).toEqual([0.5]);
    expect(Array.from(pcm16ToFloat32(new Uint8Array([0x40, 0x00])))).toEqual([64 / 32768]);
  });

  it("reads a view into a larger buffer from its own offset", () => {
    const whole = new Uint8Array([0xff, 0x00, 0x40, 0x00, 0xc0]);
    expect(Array.from(pcm16ToFloat32(whole.subarray(1, 5)))).toEqual([0.5, -0.5]);
  });

  it("ignores a trailing odd byte and decodes empty audio to no samples", () => {
    expect(pcm16ToFloat32(new Uint8Array([0x00, 0x40, 0x7f]))).toHaveLength(1);
    expect(decodePcm("")).toHaveLength(0);
    expect(base64ToBytes("")).toHaveLength(0);
  });
});
