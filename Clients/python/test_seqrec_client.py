#!/usr/bin/env python3
"""Tests of seqrec_client.py: encodings against the golden frames that
Tests/SeqRecProtocolTests/GoldenFrameTests.swift also checks (and docs/PROTOCOL.md Appendix A
lists), decoding, and the request loop against a scripted in-process fake server.

Run: python3 -m unittest -v test_seqrec_client   (from Clients/python)
The end-to-end test against the real `seqrec serve` lives with the server.
"""

import contextlib
import io
import os
import re
import socket
import struct
import threading
import unittest

import seqrec_client as sc

GOLDEN = {
    "hello": "000000140100000000000000000000000001000100000000",
    "hello_ack": "000000460200000000000000000000000001004000000000008000000400000003e800002710000003e800000100000004000000400000000400000f4240009896800006736571726563",
    "recommend_internal": "0000003503000000000000070003d09002000a0000000000000000000300000001000000020000000300000000000000010000000500000000",
    "recommend_external": "000000480300000000000008000000000d000500067361737265630000000200000002000974743031313131363100016200000000000000000000000500017800017900017a000177000176",
    "response": "0000003904000000000000070000000000067361737265630000000300000000020000002a000000070000c03f000080be000000020000003f00000040",
    "response_external": "0000002304000000000000080000000000016d0000000101000000010001780000403f00000000",
    "error": "0000001a0502000000000009000000640008000a71756575652066756c6c",
    "goaway": "0000001808000000000000000000002a000e0008647261696e696e67",
    "ping": "000000140600000000000000000000000102030405060708",
    "model_info": "0000000e0c00000000000003000000000000",
    "model_list": "0000003b0d00000000000003000000000001000673617372656300000002000e726563626f6c652d7361737265630000069300000001000000320000004003",
    "cancel": "0000000c0b0000000000000700000000",
    "health_probe": "5352454376310d0a0000000e0900000000000001000000000000",
    "health_serving": "0000000d0a000000000000010000000001",
    # version 2 (Appendix A, second table; Tests/SeqRecProtocolTests/GoldenFrameV2Tests.swift)
    "hello_v2": "000000140100000000000000000000000001000200000000",
    "hello_ack_v2": "000000460200000000000000000000000002004000000000008000000400000003e800002710000003e800000100000004000000400000000400000f4240009896800006736571726563",
    "recommend_plain_v2": "0000003703000000000000070003d09002000a00000000000000000003000000010000000200000003000000000000000100000005000000000000",
    "recommend_options_v2": "00000077030000000000000a0000000002000a000000000000000000030000000100000002000000030000000000000000000000000005000100000007757365722d34320002000000170100010006416374696f6e00010006486f72726f7200020003000000063333333f00c80004000000010100050000000103",
    "recommend_cold_start_v2": "0000002e030000000000000b0000000000000500000000000000000000000000000000000000000000000100040000000101",
    "recommend_ignorable_v2": "00000033030000000000000c0000000000000500000000000000000001000000010000000000000000000000000001806300000002dead",
    "response_plain_v2": "0000003b04000000000000070000000000067361737265630000000300000000020000002a000000070000c03f000080be000000020000003f000000400000",
    "response_explained_v2": "00000057040000000000000a0000000000067361737265630000000300000000020000002a000000070000c03f000080be00000000000100020000001e0000000202000000030000003f000000010000803e01000000020000003e",
    "response_fallback_v2": "00000031040000000000000b0000000000067361737265630000000300000000010000000500004041000000000001000100000000",
}


def golden(name):
    return bytes.fromhex(GOLDEN[name])


class EncodingTests(unittest.TestCase):
    def test_handshake_and_small_frames(self):
        self.assertEqual(sc.encode_hello(), golden("hello"))
        self.assertEqual(sc.encode_ping(0x0102030405060708), golden("ping"))
        self.assertEqual(sc.encode_model_info(3), golden("model_info"))
        self.assertEqual(sc.encode_cancel(7), golden("cancel"))
        self.assertEqual(sc.PREFACE + sc.encode_health(1), golden("health_probe"))
        self.assertEqual(sc.HEALTH_PROBE, golden("health_probe"))
        self.assertEqual(sc.HEALTH_SERVING, golden("health_serving"))

    def test_recommend_internal_ids(self):
        frame = sc.encode_recommend(7, [1, 2, 3], k=10, exclude_seen=True, deny=[5], timeout_us=250000)
        self.assertEqual(frame.hex(), GOLDEN["recommend_internal"])

    def test_recommend_external_ids(self):
        frame = sc.encode_recommend(8, ["tt0111161", "b"], k=5, model="sasrec", version=2, external=True,
                                    candidates=["x", "y", "z", "w", "v"], skip_unknown=True, embedding=True)
        self.assertEqual(frame.hex(), GOLDEN["recommend_external"])

    def test_invalid_arguments_fail_before_sending(self):
        for kwargs, fragment in [
            (dict(session=[1], k=0), "k = 0"),
            (dict(session=[1], k=1001), "k = 1001"),
            (dict(session=[1], k=3, candidates=[1, 2]), "outside 1...2"),
            (dict(session=[], k=1), "at least one"),
            (dict(session=list(range(1001)), k=1), "session has 1001"),
            (dict(session=["a"], k=1), "internal ids"),
            (dict(session=[1], k=1, external=True), "non-empty string"),
            (dict(session=["x" * 257], k=1, external=True), "257 bytes"),
            (dict(session=[1], k=1, model="m" * 257), "model is 257 bytes"),
        ]:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(ValueError) as caught:
                    sc.encode_recommend(1, **kwargs)
                self.assertIn(fragment, str(caught.exception))


OPTIONS = dict(session_key="user-42", filters={"available_only": True, "categories_include": ["Action"],
                                               "categories_exclude": ["Horror"], "max_per_category": 2},
               diversity={"lambda": 0.7, "pool": 200}, fallback=True, explain=3)


class VersionTwoEncodingTests(unittest.TestCase):
    def test_golden_requests(self):
        self.assertEqual(sc.encode_hello(max_version=2), golden("hello_v2"))
        plain = sc.encode_recommend(7, [1, 2, 3], k=10, exclude_seen=True, deny=[5], timeout_us=250000, protocol_version=2)
        self.assertEqual(plain.hex(), GOLDEN["recommend_plain_v2"])
        options = sc.encode_recommend(10, [1, 2, 3], k=10, exclude_seen=True, protocol_version=2, **OPTIONS)
        self.assertEqual(options.hex(), GOLDEN["recommend_options_v2"])
        self.assertEqual(sc.encode_recommend(10, [1, 2, 3], k=10, exclude_seen=True, protocol_version=2,
                                             **dict(OPTIONS, explain=True, session_key=b"user-42")).hex(),
                         GOLDEN["recommend_options_v2"])
        cold = sc.encode_recommend(11, [], k=5, fallback=True, protocol_version=2)
        self.assertEqual(cold.hex(), GOLDEN["recommend_cold_start_v2"])

    def test_options_are_refused_on_version_1_and_checked_on_version_2(self):
        with self.assertRaises(ValueError) as caught:
            sc.encode_recommend(1, [1], k=1, fallback=True)
        self.assertIn("need protocol version 2", str(caught.exception))
        for kwargs, fragment in [
            (dict(session_key="x" * 65), "session_key is 65 bytes"),
            (dict(filters={"available": True}), "filters.available is not a known filter"),
            (dict(filters={"categories_include": [""]}), "filters.categories_include[0] must not be empty"),
            (dict(filters={"categories_exclude": ["c"] * 65}), "65 categories"),
            (dict(filters={"categories_exclude": ["x" * 129]}), "129 bytes"),
            (dict(filters={"max_per_category": 1001}), "max_per_category"),
            (dict(diversity={"lambda": 1.5}), "diversity.lambda"),
            (dict(diversity={"lambda": float("nan")}), "diversity.lambda"),
            (dict(diversity={"lambda": 0.5, "pool": 1}), "diversity.pool"),
            (dict(explain=4), "explain"),
            (dict(session=[], fallback=False), "at least one item"),
            (dict(session=[], protocol_version=1), "at least one item"),
        ]:
            with self.subTest(kwargs=kwargs):
                arguments = dict(session=[1], k=2, protocol_version=2)
                arguments.update(kwargs)
                with self.assertRaises(ValueError) as caught:
                    sc.encode_recommend(1, **arguments)
                self.assertIn(fragment, str(caught.exception))


class VersionTwoDecodingTests(unittest.TestCase):
    def body(self, name):
        return golden(name)[16:]

    def test_golden_responses(self):
        plain = sc.decode_recommend_response(self.body("response_plain_v2"), protocol_version=2)
        self.assertEqual((plain.items, plain.embedding, plain.fallback, plain.because), ([42, 7], [0.5, 2.0], False, None))
        explained = sc.decode_recommend_response(self.body("response_explained_v2"), protocol_version=2)
        self.assertEqual(explained.because, [[(3, 0.5), (1, 0.25)], [(2, 0.125)]])
        fallback = sc.decode_recommend_response(self.body("response_fallback_v2"), protocol_version=2)
        self.assertEqual((fallback.items, fallback.scores, fallback.fallback), ([5], [12.0], True))
        # Read as version 1, the extension block is trailing bytes.
        with self.assertRaises(sc.ProtocolViolation):
            sc.decode_recommend_response(self.body("response_plain_v2"))

    def test_bad_extension_blocks(self):
        prefix = self.body("response_plain_v2")[:-2]  # the fields, without the empty block
        ext = lambda t, v, n=None: struct.pack(">HI", t, len(v) if n is None else n) + v
        for block, fragment in [
            (b"", "truncated in n_extensions"),
            (struct.pack(">H", 17), "n_extensions 17"),
            (struct.pack(">H", 2) + ext(1, b""), "n_extensions 2"),
            (struct.pack(">H", 2) + ext(1, b"") + ext(1, b""), "does not follow"),
            (struct.pack(">H", 1) + ext(1, b"", 5), "exceeds the body"),
            (struct.pack(">H", 1) + ext(1, b"x"), "exceeds 0"),
            (struct.pack(">H", 1) + ext(9, b""), "critical extension type 9"),
            (struct.pack(">H", 1) + ext(2, struct.pack(">I", 3)), "EXPLANATIONS.n is 3"),
            (struct.pack(">H", 1) + ext(2, struct.pack(">I", 2) + b"\x04"), "m is 4"),
            (struct.pack(">H", 1) + ext(2, struct.pack(">I", 2) + b"\x00\x00\x07"), "trailing"),
            (struct.pack(">H", 0) + b"\x00", "trailing"),
        ]:
            with self.subTest(block=block.hex()):
                with self.assertRaises(sc.ProtocolViolation) as caught:
                    sc.decode_recommend_response(prefix + block, protocol_version=2)
                self.assertIn(fragment, str(caught.exception))
        skipped = sc.decode_recommend_response(prefix + struct.pack(">H", 2) + ext(1, b"") + ext(0x8005, b"zz"),
                                               protocol_version=2)
        self.assertTrue(skipped.fallback)

    def test_request_extension_block_decodes_with_the_same_rules(self):
        # The ignorable golden request: a decoder skips type 0x8063 (the Swift server does the same).
        body = golden("recommend_ignorable_v2")[16:]
        reader = sc._Reader(body[body.index(bytes.fromhex("0001806300000002")):])
        self.assertEqual(sc.decode_extension_block(reader, {1: 64}), [])
        reader.finish("RECOMMEND")


class SpecTests(unittest.TestCase):
    def test_appendix_a_lists_the_golden_frames(self):
        spec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "PROTOCOL.md")
        with open(spec, encoding="utf-8") as handle:
            text = handle.read()
        appendix = text[text.index("## Appendix A."):]
        listed = set(re.findall(r"`([0-9a-f]{24,})`", appendix))
        self.assertEqual(listed, set(GOLDEN.values()))
        self.assertIn(f"tcp-check send-binary {GOLDEN['health_probe']}", text)
        self.assertIn(f"tcp-check expect binary {GOLDEN['health_serving']}", text)


class DecodingTests(unittest.TestCase):
    def split(self, name):
        frame = golden(name)
        return sc.decode_header(frame[:16]), frame[16:]

    def test_response(self):
        (frame_type, flags, rid, aux, length), body = self.split("response")
        self.assertEqual((frame_type, flags, rid, aux, length), (sc.RECOMMEND_RESPONSE, 0, 7, 0, len(body)))
        result = sc.decode_recommend_response(body)
        self.assertEqual(result, sc.RecommendResult([42, 7], [1.5, -0.25], "sasrec", 3, [0.5, 2.0]))
        _, body = self.split("response_external")
        self.assertEqual(sc.decode_recommend_response(body), sc.RecommendResult(["x"], [0.75], "m", 1, None))

    def test_hello_ack_error_goaway_models(self):
        _, body = self.split("hello_ack")
        version, limits, server_id = sc.decode_hello_ack(body)
        self.assertEqual((version, limits, server_id), (1, sc.DEFAULT_LIMITS, "seqrec"))
        (frame_type, flags, rid, aux, _), body = self.split("error")
        self.assertEqual((frame_type, flags & sc.FLAG_NOT_PROCESSED, rid, aux), (sc.ERROR, 2, 9, 100))
        self.assertEqual(sc.decode_status_body(body), (8, "queue full"))
        _, body = self.split("goaway")
        self.assertEqual(sc.decode_status_body(body), (14, "draining"))
        _, body = self.split("model_list")
        self.assertEqual(sc.decode_model_list(body),
                         [sc.ModelInfo("sasrec", 2, "recbole-sasrec", 1683, 1, 50, 64, True, True)])

    def test_bad_headers(self):
        for header, fragment in [
            (struct.pack(">IBBHII", 0xFFFFFFFF, 4, 0, 0, 1, 0), "frame length 4294967295"),
            (struct.pack(">IBBHII", 11, 4, 0, 0, 1, 0), "frame length 11"),
            (struct.pack(">IBBHII", 12, 99, 0, 0, 1, 0), "unknown frame type 99"),
            (struct.pack(">IBBHII", 12, 4, 1, 0, 1, 0), "reserved bits"),
            (struct.pack(">IBBHII", 12, 4, 0, 1, 1, 0), "reserved bits"),
        ]:
            with self.subTest(fragment=fragment):
                with self.assertRaises(sc.ProtocolViolation) as caught:
                    sc.decode_header(header)
                self.assertIn(fragment, str(caught.exception))

    def test_truncated_and_oversized_bodies(self):
        _, body = self.split("response")
        for cut in range(len(body)):
            with self.assertRaises(sc.ProtocolViolation):
                sc.decode_recommend_response(body[:cut])
        with self.assertRaises(sc.ProtocolViolation):
            sc.decode_recommend_response(body + b"\x00")
        huge = b"\x00\x01m" + struct.pack(">IBI", 1, 0, 1001)
        with self.assertRaisesRegex(sc.ProtocolViolation, "items count 1001"):
            sc.decode_recommend_response(huge)


class FakeServer:
    """Accepts one connection per script. Each entry is (expected bytes, reply bytes), or
    (byte count, function from the received bytes to the reply) for replies that echo."""

    def __init__(self, scripts):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.received = []
        self.errors = []
        self.thread = threading.Thread(target=self._serve, args=(scripts,), daemon=True)
        self.thread.start()

    def _serve(self, scripts):
        try:
            for script in scripts:
                conn, _ = self.listener.accept()
                with conn:
                    for expected, reply in script:
                        size = expected if isinstance(expected, int) else len(expected)
                        data = b""
                        while len(data) < size:
                            chunk = conn.recv(size - len(data))
                            if not chunk:
                                break
                            data += chunk
                        self.received.append(data)
                        if callable(reply):
                            conn.sendall(reply(data))
                            continue
                        if data != expected:
                            self.errors.append(f"expected {expected.hex()}, got {data.hex()}")
                            return
                        conn.sendall(reply)
        finally:
            self.listener.close()

    def join(self):
        self.thread.join(timeout=5)
        return self.errors


OPENING = sc.PREFACE + golden("hello_v2")  # the client offers versions 1...2
OPENING_V1 = sc.PREFACE + golden("hello")


class ClientTests(unittest.TestCase):
    def test_recommend_round_trip(self):
        request = sc.encode_recommend(1, [1, 2, 3], k=10, exclude_seen=True, deny=[5], timeout_us=250000)
        reply = sc.encode_frame(sc.RECOMMEND_RESPONSE, 1, golden("response")[16:])
        server = FakeServer([[(OPENING, golden("hello_ack")), (request, reply)]])
        with sc.Client("127.0.0.1", server.port, timeout=5) as client:
            self.assertEqual(client.server_id, "seqrec")
            result = client.recommend([1, 2, 3], k=10, exclude_seen=True, deny=[5], deadline_ms=250)
        self.assertEqual(result.items, [42, 7])
        self.assertEqual(result.scores, [1.5, -0.25])
        self.assertEqual((result.model, result.version, result.embedding), ("sasrec", 3, [0.5, 2.0]))
        self.assertEqual(server.join(), [])

    def test_version_2_options_and_answers(self):
        request = sc.encode_recommend(1, [1, 2, 3], k=10, exclude_seen=True, protocol_version=2, **OPTIONS)
        reply = sc.encode_frame(sc.RECOMMEND_RESPONSE, 1, golden("response_explained_v2")[16:])
        server = FakeServer([[(OPENING, golden("hello_ack_v2")), (request, reply)]])
        with sc.Client("127.0.0.1", server.port) as client:
            self.assertEqual(client.version, 2)
            result = client.recommend([1, 2, 3], k=10, exclude_seen=True, **OPTIONS)
        self.assertEqual(result.because, [[(3, 0.5), (1, 0.25)], [(2, 0.125)]])
        self.assertFalse(result.fallback)
        self.assertEqual(server.join(), [])

    def test_against_a_version_1_server_the_key_is_dropped_and_options_refused(self):
        request = sc.encode_recommend(1, [4, 5], k=2)  # a version 1 body: no key
        reply = sc.encode_frame(sc.RECOMMEND_RESPONSE, 1, golden("response")[16:])
        server = FakeServer([[(OPENING, golden("hello_ack")), (request, reply)]])
        with sc.Client("127.0.0.1", server.port) as client:
            self.assertEqual(client.version, 1)
            with self.assertRaises(ValueError):
                client.recommend([4, 5], k=2, explain=True)
            self.assertEqual(client.recommend([4, 5], k=2, session_key="abc").items, [42, 7])
        self.assertEqual(server.join(), [])

    def test_a_version_1_only_client_sends_the_version_1_hello(self):
        server = FakeServer([[(OPENING_V1, golden("hello_ack"))]])
        with sc.Client("127.0.0.1", server.port, max_version=1) as client:
            self.assertEqual(client.version, 1)
        self.assertEqual(server.join(), [])

    def test_error_frame_raises_typed_exception(self):
        request = sc.encode_health(1, "sasrec")
        reply = sc.encode_frame(sc.ERROR, 1, golden("error")[16:], flags=sc.FLAG_NOT_PROCESSED, aux=100)
        server = FakeServer([[(OPENING, golden("hello_ack")), (request, reply)]])
        with sc.Client("127.0.0.1", server.port) as client:
            with self.assertRaises(sc.SeqRecError) as caught:
                client.health("sasrec")
        error = caught.exception
        self.assertEqual((error.status, error.status_name, error.message), (8, "RESOURCE_EXHAUSTED", "queue full"))
        self.assertTrue(error.not_processed)
        self.assertEqual(error.retry_after_ms, 100)
        self.assertEqual(server.join(), [])

    def test_ping_echoes_payload(self):
        def pong(ping):
            if ping[:16] != struct.pack(">IBBHII", 20, sc.PING, 0, 0, 0, 0):
                return b""
            return sc.encode_frame(sc.PONG, 0, ping[16:])
        server = FakeServer([[(OPENING, golden("hello_ack")), (24, pong)]])
        with sc.Client("127.0.0.1", server.port) as client:
            self.assertGreater(client.ping(), 0)
        self.assertEqual(server.join(), [])

    def test_models_and_graceful_goaway(self):
        models_request = sc.encode_model_info(1)
        models_reply = sc.encode_frame(sc.MODEL_LIST, 1, golden("model_list")[16:])
        health_request = sc.encode_health(2)
        # GOAWAY first, then the answer: the pending request is still answered (§10).
        health_reply = golden("goaway") + sc.encode_frame(sc.HEALTH_RESPONSE, 2, b"\x02")
        server = FakeServer([[(OPENING, golden("hello_ack")), (models_request, models_reply),
                              (health_request, health_reply)]])
        with sc.Client("127.0.0.1", server.port) as client:
            self.assertEqual([m.name for m in client.models()], ["sasrec"])
            self.assertEqual(client.health(), "NOT_SERVING")
            with self.assertRaises(sc.SeqRecError) as caught:
                client.health()
            self.assertEqual(caught.exception.status_name, "UNAVAILABLE")
            self.assertTrue(caught.exception.not_processed)
            self.assertIn("GOAWAY UNAVAILABLE: draining", caught.exception.message)
        self.assertEqual(server.join(), [])

    def test_handshake_refused_with_goaway(self):
        refusal = sc.encode_frame(sc.GOAWAY, 0, struct.pack(">H", 12) + sc._str16("version", "m"))
        server = FakeServer([[(OPENING, refusal)]])
        with self.assertRaises(sc.SeqRecError) as caught:
            sc.Client("127.0.0.1", server.port)
        self.assertEqual(caught.exception.status_name, "UNIMPLEMENTED")
        self.assertEqual(server.join(), [])

    def test_probe_and_cli(self):
        request = sc.encode_recommend(1, [4, 5], k=2)
        reply = sc.encode_frame(sc.RECOMMEND_RESPONSE, 1, golden("response")[16:])
        server = FakeServer([[(golden("health_probe"), golden("health_serving"))],
                             [(OPENING, golden("hello_ack")), (request, reply)],
                             [(OPENING, golden("hello_ack")), (request, reply)]])
        self.assertTrue(sc.probe_health("127.0.0.1", server.port))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = sc.main(["--port", str(server.port), "recommend", "--session", "4,5", "--k", "2"])
        self.assertEqual(code, 0)
        self.assertIn('"items": [42, 7]', output.getvalue())
        output = io.StringIO()
        with contextlib.redirect_stdout(output):  # connection options after the command
            code = sc.main(["recommend", "--session", "4,5", "--k", "2", "--port", str(server.port)])
        self.assertEqual(code, 0)
        self.assertIn('"scores": [1.5, -0.25]', output.getvalue())
        self.assertEqual(server.join(), [])

    def test_cli_exit_status_of_a_server_error_differs_from_a_usage_error(self):
        request = sc.encode_recommend(1, [4, 5], k=2)
        refusal = sc.encode_frame(sc.ERROR, 1, golden("error")[16:], flags=0x02, aux=100)
        server = FakeServer([[(OPENING, golden("hello_ack")), (request, refusal)]])
        with contextlib.redirect_stderr(io.StringIO()) as errors:
            code = sc.main(["--port", str(server.port), "recommend", "--session", "4,5", "--k", "2"])
        self.assertEqual(code, 3)
        self.assertIn("RESOURCE_EXHAUSTED", errors.getvalue())
        self.assertEqual(server.join(), [])
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as usage:
            sc.main(["recommend", "--k", "2"])  # --session missing
        self.assertEqual(usage.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
