// core/encoding.h against the RFCs' own test vectors: base64 and base64url (RFC 4648
// §10), HMAC-SHA1 (RFC 2202) and HMAC-SHA256 (RFC 4231).
#include "core/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace crossdock::core {
namespace {

TEST(Base64Test, EncodesTheRfcVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\0\xfb\xff", 3)), "APv/");
}

TEST(Base64Test, DecodesWhatItEncodes) {
  for (const std::string& bytes :
       {std::string("f"), std::string("fo"), std::string("foo"), std::string("foobar"),
        std::string("\0\xfb\xff\xbf", 4), std::string(1000, '\xa5')}) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
  }
}

TEST(Base64Test, DecodingIgnoresLineBreaksAndRefusesWhatIsNotBase64) {
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\n"), "foobar");  // `base64` wraps its output
  EXPECT_EQ(Base64Decode(" Zm9v\r\n\tYg== "), "foob");
  for (const char* bad : {"", "Zg", "Zg=", "Zm9vY", "Zm=v", "=m9v", "Zg==Zg==", "Zm9v!mFy",
                          "Zm9v-_Fy", "Z===", "===="})
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << bad;
}

TEST(Base64UrlTest, NoPaddingAndTheUrlAlphabet) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");  // "+/+/" in plain base64
  // RFC 7515 appendix A.1's JWS header.
  EXPECT_EQ(Base64UrlEncode("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"),
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
  EXPECT_EQ(Base64UrlDecode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(Base64UrlDecode("Zg"), "f");
  EXPECT_EQ(Base64UrlDecode("Zg=="), "f");  // padding taken too
  for (const char* bad : {"", "Z", "+/+/", "Zm9vY", "Zm9v.Zg"})
    EXPECT_EQ(Base64UrlDecode(bad), std::nullopt) << bad;
}

TEST(HexTest, TwoLowercaseDigitsAByte) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\0\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
}

TEST(HmacTest, Sha1MatchesRfc2202) {
  EXPECT_EQ(HexEncode(HmacSha1(std::string(20, '\x0b'), "Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(HexEncode(HmacSha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  // A key longer than the block size is hashed first.
  EXPECT_EQ(HexEncode(HmacSha1(std::string(80, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(HmacTest, Sha256MatchesRfc4231) {
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(HmacSha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(HmacSha256("", "").size(), 32u);  // an empty key is a key
}

}  // namespace
}  // namespace crossdock::core
