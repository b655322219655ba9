using System.Security.Cryptography;
using System.Text;

namespace TailorPO.Labeling.Storage;

/// <summary>
/// Secret link tokens: 256 random bits, URL-safe. The database keeps only their SHA-256, so a copied database
/// does not hand out working links.
/// </summary>
internal static class AnnotatorTokens
{
    /// <summary>A new random token.</summary>
    public static string Create() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The stored form of a token.</summary>
    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Whether a string has a token's shape (checked before any database look-up).</summary>
    public static bool IsWellFormed(string? token) =>
        token is { Length: 43 } && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
