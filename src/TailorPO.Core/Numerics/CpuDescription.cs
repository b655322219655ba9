using System.Runtime.Intrinsics.X86;

namespace TailorPO.Core.Numerics;

/// <summary>
/// The processor this process runs on, as far as numerics care: vendor, model, family (AMD: 25 = Zen 3/4,
/// 26 = Zen 5) and the vector extensions libtorch's kernels dispatch on.
/// </summary>
/// <param name="Vendor">The vendor string (e.g. "AuthenticAMD", "GenuineIntel"), or the architecture elsewhere.</param>
/// <param name="ModelName">The marketing name, as /proc/cpuinfo gives it, or the architecture elsewhere.</param>
/// <param name="Family">The CPU family (x86 only; null elsewhere).</param>
/// <param name="Model">The model number within the family (x86 only; null elsewhere).</param>
/// <param name="Extensions">The vector extensions present that matter to libtorch (AVX2, AVX-512F, AVX-512 BF16, AMX ...).</param>
public sealed record CpuDescription(string Vendor, string ModelName, int? Family, int? Model, IReadOnlyList<string> Extensions)
{
    private static readonly Lazy<CpuDescription> CurrentCpu = new(Read);

    /// <summary>The processor of this process.</summary>
    public static CpuDescription Current => CurrentCpu.Value;

    /// <inheritdoc />
    public override string ToString() =>
        $"{ModelName} ({Vendor}{(Family is { } f ? $", family {f} model {Model}" : "")}; {(Extensions.Count == 0 ? "no vector extensions listed" : string.Join(" ", Extensions))})";

    private static CpuDescription Read()
    {
        var extensions = new List<string>();
        if (Avx2.IsSupported) extensions.Add("avx2");
        if (Avx512F.IsSupported) extensions.Add("avx512f");
        if (Avx512BW.IsSupported) extensions.Add("avx512bw");
        if (AvxVnni.IsSupported) extensions.Add("avx_vnni");

        string vendor = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        string model = vendor;
        int? family = null, modelNumber = null;
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.Length == 0) break; // the first processor is enough
                    var colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    var key = line[..colon].Trim();
                    var value = line[(colon + 1)..].Trim();
                    switch (key)
                    {
                        case "vendor_id": vendor = value; break;
                        case "model name": model = value; break;
                        case "cpu family" when int.TryParse(value, out var f): family = f; break;
                        case "model" when int.TryParse(value, out var m): modelNumber = m; break;
                        case "flags":
                            var flags = value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
                            foreach (var flag in new[] { "avx512_bf16", "avx512_vnni", "avx512_fp16", "amx_tile", "amx_bf16" })
                                if (flags.Contains(flag)) extensions.Add(flag);
                            break;
                    }
                }
            }
            else if (X86Base.IsSupported)
            {
                var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
                Span<int> parts = [ebx, edx, ecx];
                vendor = System.Text.Encoding.ASCII.GetString(System.Runtime.InteropServices.MemoryMarshal.AsBytes(parts));
                var (eax, _, _, _) = X86Base.CpuId(1, 0);
                int baseFamily = (eax >> 8) & 0xF, extendedFamily = (eax >> 20) & 0xFF;
                family = baseFamily == 0xF ? baseFamily + extendedFamily : baseFamily;
                int baseModel = (eax >> 4) & 0xF, extendedModel = (eax >> 16) & 0xF;
                modelNumber = baseFamily is 0x6 or 0xF ? (extendedModel << 4) + baseModel : baseModel;
                model = vendor;
            }
        }
        catch (IOException)
        {
            // /proc/cpuinfo unreadable (a sandbox): the architecture and the runtime's ISA checks remain.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return new CpuDescription(vendor, model, family, modelNumber, extensions);
    }
}
