"""Bodies for bench/jsongate/run's old-against-new diff: every kind of bad
body the gate names (NUL, UTF-8, RFC 8259, depth, duplicate keys, numbers)
and seeded mutations of them.  Usage: corpus.py DIR (writes DIR/c-NNNNN)."""
import os
import random
import sys

SEEDS = [
    b'{"code": "print(1)"}',
    b'{"code":"x","timeout":2.5,"memory_limit":"200m","cpu_limit":0.5,"stdin":"a"}',
    b'{"code":"1","code":"2"}',
    b'{"code":"1","\\u0063ode":"2"}',
    b'{"code":"1","code\\u0000":"2"}',
    b'{"code":"1","co\\u0000de":"x"}',
    b'{"code":"1","\\ud800":1,"\\udc00":2,"\\ud800\\udc00":3,"\\ud800\\udc00":4}',
    b'{"code":"1","\\ud800x":1,"\\ufffdx":2}',
    b'{"code":"1","\\u00e9":1,"\xc3\xa9":2}',
    b'{"code":"1","stdin":{"a":1,"a":2}}',
    b'{"code":"1","stdin":[{"b":1,"b":2}]}',
    b'{"code":"1","files":[{"name":"a","content":"","name":"b"}]}',
    b'{"code":"1","files":[{"name":"a","content":""},{"name":"b","content":"","content":"x"}]}',
    b'{"code":"1","files":[{"name":"a","content":"","x":{"y":1,"y":2}}]}',
    b'{"files":[{"n":1,"n":2}],"code":"1","code":"2"}',
    b'{"files":[],"files":[{"n":1,"n":2}],"code":"1"}',
    b'{"code":"1","timeout":1e999}',
    b'{"code":"1","timeout":-1e999,"x":[1e400]}',
    b'{"code":"1","timeout":' + b'1' * 400 + b'}',
    b'{"code":"1","timeout":1' + b'0' * 70 + b'e5}',
    b'{"code":"1","timeout":NaN}',
    b'{"code":"1","timeout":-Infinity}',
    b'{"code":"1","timeout":01}',
    b'{"code":"1","timeout":1.}',
    b'{"code":"1","timeout":-}',
    b'{"code":"1","timeout":1e}',
    b"{'code':'1'}",
    b'{"code":"a\tb"}',
    b'{"code":"a\x00b"}',
    b'{"code":"1"}\x00',
    b'\x00{"code":"1"}',
    b'{"code":"\xff"}',
    b'{"code":"\xc0\xaf"}',
    b'{"code":"\xe0\x80\xaf"}',
    b'{"code":"\xed\xa0\x80"}',
    b'{"code":"\xf4\x90\x80\x80"}',
    b'{"code":"\xf0\x9f\x98\x80"}',
    b'{"code":"\xe2\x82"}',
    b'\xef\xbb\xbf{"code":"1"}',
    b'{"code":"1"} trailing',
    b'{"code":"1"}{"code":"2"}',
    b'{"code":"1"}  ',
    b'  {"code":"1"}\n',
    b'{"code":"\\x"}',
    b'{"code":"\\u12"}',
    b'{"code":"\\ud800"}',
    b'{"code":"\\udc00\\ud800"}',
    b'{"code":"\\u0000"}',
    b'{"code":"1",}',
    b'{"code" "1"}',
    b'{"code":"1" "x":1}',
    b'{,}',
    b'[1,]',
    b'[1 2]',
    b'{"code":"1"',
    b'{"code":"1',
    b'{"code":"1\\',
    b'',
    b' ',
    b'null',
    b'true',
    b'42',
    b'42 43',
    b'-0.5e-3',
    b'"x"',
    b'[1,2]',
    b'{}',
    b'{"a":tru}',
    b'{"a":nul}',
    b'{"a":\xc3\xa9}',
    b'{"a":\xff}',
    b'{"code":"1","x":\xc3\xa9,"y":"\xff"}',
    b'{"code":"1","x":[1,2,}',
    b'{"code":"1","x":[1,2\x00]}',
    b'[' * 31 + b']' * 31,
    b'[' * 32 + b']' * 32,
    b'[' * 33 + b']' * 33,
    b'{"code":"1","stdin":' + b'{"a":' * 31 + b'1' + b'}' * 31 + b'}',
    b'{"code":"1","stdin":' + b'{"a":' * 32 + b'1' + b'}' * 32 + b'}',
    b'[' * 2000,
    b'[' * 1200 + b']' * 1200,
    b'{"code":"1","stdin":"' + b'x' * 5000 + b'"}',
    b'{"query":"q","max_attempts":2,"validate_code":true}',
    b'{"code":"1","session_id":"abc","files":[{"name":"a.txt","content":"YQ=="}]}',
    b'{"code":"1","mode":"eval","unwrap":1}',
    b'{"generated_code":"1","generated_code":"2"}',
    b'{"code":"1","x":{"\\"a":1,"\\"a":2}}',
    b'{"code":"1","\\/":1,"/":2}',
    b'{"code":"1","\\b\\f\\n\\r\\t":1}',
    b'{"code":"1","" :1,"":2}',
]

BYTES = [b'\x00', b'\xff', b'\xc3', b'\xa9', b'\xed\xa0\x80', b'"', b'\\',
         b'{', b'}', b'[', b']', b',', b':', b'\t', b'\n', b' ', b'1', b'e',
         b'-', b'.', b'\\u0000', b'\\ud800', b'N', b"'", b'\xef\xbb\xbf',
         b'"code":"1",', b'"files":[{"a":1,"a":2}],']


def mutate(rng, b):
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(b))
        op = rng.random()
        if op < 0.4:
            b = b[:i] + rng.choice(BYTES) + b[i:]
        elif op < 0.7 and b:
            b = b[:i] + b[i + 1:]
        elif b:
            j = min(len(b), i + rng.randint(1, 4))
            b = b[:i] + rng.choice(BYTES) + b[j:]
    return b


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(25)
    bodies = list(SEEDS)
    for _ in range(4000):
        bodies.append(mutate(rng, rng.choice(SEEDS)))
    for n, b in enumerate(bodies):
        with open(os.path.join(out, "c-%05d" % n), "wb") as f:
            f.write(b)


main()
