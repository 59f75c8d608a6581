"""Published WeCom crypto test vectors, quoted from shared/reference/wecom-telegram.md §2.4."""

from __future__ import annotations

# V1/V2 — Tencent sample (sbzhu/weworkapi_python @16e0b05)
V1_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
V1_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
V1_CORP = "ww1436e0e65a779aee"

V1A = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
V1A_PLAIN = "1288432023552776189"

V1B = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
V1B_BODY = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
    "]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
V1B_ENCRYPT = V1B_BODY.split("<![CDATA[")[2].split("]]>")[0]
V1B_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)

V2 = {
    "msg_signature": "e3647471e395139e2308c1fa963f2d648a00b90e",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
V2_ENCRYPT = "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU="
V2_PLAIN = (
    '{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate", "CreateTime": 1409659813, '
    '"MsgType": "text", "Content": "hello", "MsgId": 4561255354251345929, "AgentID": 218}'
)

# V3 — wechatpy tests/test_crypto.py (work.crypto.WeChatCrypto)
V3_TOKEN = "123456"
V3_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
V3_CORP = "wx49f0ab532d5d035a"
V3A = {
    "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    "timestamp": "1411443780",
    "nonce": "437374425",
    "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
}
V3A_PLAIN = "5927782489442352469"
V3B = {
    "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
    "timestamp": "1411525903",
    "nonce": "461056294",
}
V3B_ENCRYPT = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
V3C_PLAIN = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
V3C_ENCRYPT = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
V3C_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"
V3C = {"timestamp": "1411525903", "nonce": "461056294"}

# V4 — empty receiveid (easy-wx/wecom-bot-svr README), URL-encoded query as published
V4_TOKEN = "xxx"
V4_KEY = "x" * 43
V4_QUERY = (
    "msg_signature=09380007d4f0891d966988e5450ad794c77fa01c&timestamp=1703041184&nonce=1703023880"
    "&echostr=oCdlC8pJ%2FDIjXnC8F9reyjDYlSImCmIgxA4prPD%2Bl2Fj5qBHjFiWnpelQofsDCJrSEvNVTET6oQmoXLQxzUkyQ%3D%3D"
)
V4_PLAIN = "6534946348215556778"

# V5 — AI-bot JSON, receiveid "" (self-generated with Tencent's code; V1 token/key)
V5 = {
    "msg_signature": "01eaeab801bb59c9aaad4241ef35fd43635b4bb4",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
V5_PLAIN = (
    '{"msgid":"MSGID1","aibotid":"AIBOTID","chatid":"CHATID","chattype":"group","from":{"userid":"USERID"},'
    '"response_url":"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RESPONSE_CODE",'
    '"msgtype":"text","text":{"content":"@RobotA hello robot"}}'
)
V5_ENCRYPT = "/K4xJYsBwQssQzE/v2nbvDWRQu6poEStn1KSA5s6CEQxE/20ZMe893APetCRIA+IEeYekbiyRT1awmADJ2uLyCzwFMUB2C4G7or/Yfu7A4h1Q932BtTZjJE+mNLFUaKYXlcPto0tv+Gj5cp3/1NDlmugzpC4p1gcKwI7UzJ95EhB6rUXKXXvVyP1VHKsq9NLGYO1w8DjGxyHcIRwH0OzC6YmtkNh8Qm5fSYicN2vAWvMcKBK1bYOh5HVdVzex1BgpPczgf2fGu3MhP2vvSqgLrRnEe+28gVfAX+gQtkX+GmEoMDnO0Bz6biMHmIGpAW7eMh9YlOwi6Yv+MSQVFL9xlqjYnXBYr+I6GMNjgv2To8wcDqxDVPl9lbSkp7SBNaN"
