using System.Text;

namespace TailorPO.Diffusion.Tests.Support;

/// <summary>
/// A safetensors file as raw parts (length prefix, header bytes, data bytes) for building malformed
/// files: nothing here validates anything.
/// </summary>
internal sealed record RawSafetensors(byte[] Header, byte[] Data)
{
    /// <summary>Splits an existing file (which must at least have a sane length prefix).</summary>
    public static RawSafetensors Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        return new RawSafetensors(bytes[8..(8 + n)], bytes[(8 + n)..]);
    }

    /// <summary>The header text (the fixtures' headers are valid UTF-8).</summary>
    public string HeaderText => Encoding.UTF8.GetString(Header);

    /// <summary>The same file with another header text (not padded).</summary>
    public RawSafetensors WithHeader(string header) => this with { Header = Encoding.UTF8.GetBytes(header) };

    /// <summary>The whole file, with the true header length or the one given.</summary>
    public byte[] ToBytes(ulong? declaredLength = null)
    {
        var result = new byte[8 + Header.Length + Data.Length];
        BitConverter.GetBytes(declaredLength ?? (ulong)Header.Length).CopyTo(result, 0);
        Header.CopyTo(result, 8);
        Data.CopyTo(result, 8 + Header.Length);
        return result;
    }

    /// <summary>Writes 8-byte length + header + data exactly as given.</summary>
    public static string Write(string path, string header, byte[] data, ulong? declaredLength = null)
    {
        File.WriteAllBytes(path, new RawSafetensors(Encoding.UTF8.GetBytes(header), data).ToBytes(declaredLength));
        return path;
    }
}
