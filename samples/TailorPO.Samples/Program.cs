// The samples CLI (pretrain / align / compare / generate / evaluate) is built in a later issue.
// Until then it only reports the TorchSharp backend it runs on.
using TorchSharp;

Console.WriteLine($"TailorPO.NET samples. TorchSharp backend ready: {torch.TryInitializeDeviceType(DeviceType.CPU)}; CUDA available: {torch.cuda.is_available()}.");
return 0;
