using TailorPO.Diffusion.Lora;
using TailorPO.Diffusion.Pipelines;
using TailorPO.Labeling.Export;
using TailorPO.Labeling.Reports;
using TailorPO.Labeling.Storage;
using TailorPO.Labeling.Tasks;
using TailorPO.Labeling.Web;
using TailorPO.Shapes;

namespace TailorPO.Labeling.Cli;

/// <summary>The three commands: serve (generating tasks first when the database has none), export and winrate.</summary>
internal static class LabelingCommands
{
    /// <summary>The database's file name inside the data folder.</summary>
    public const string DatabaseFileName = "labels.db";

    /// <summary>The default data folder (relative to the working directory).</summary>
    public const string DefaultDataFolder = "labeling-data";

    /// <summary>The usage text of <c>--help</c>.</summary>
    public static string Usage => "TailorPO.Labeling: collect human preferences on image pairs, export them for training, report blind win rates (docs/human-preferences.md).\n" +
        "Usage: [serve|export|winrate] --option value ...  (serve is the default; started by `dotnet run --project samples/TailorPO.Labeling --` or `tailorpo label`)\n" +
        string.Join("\n", CommandLine.Options.Select(c => $"  {c.Key,-8} {string.Join(" ", c.Value)}"));

    /// <summary>Runs the parsed command; returns the exit code.</summary>
    public static async Task<int> RunAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(line);
        switch (line.Command)
        {
            case CommandLine.HelpCommand:
                await output.WriteLineAsync(Usage);
                return 0;
            case "export":
            {
                var data = line.Text("--data", DefaultDataFolder)!;
                var store = OpenStore(data, 1);
                var outFolder = line.Text("--out", Path.Combine(data, "export"))!;
                var (pairs, trajectories) = PreferenceExport.Write(store.Tallies(), data, outFolder);
                await output.WriteLineAsync($"Wrote {Path.Combine(Path.GetFullPath(outFolder), PreferenceExport.PairsFileName)} ({pairs} pairs) and {PreferenceExport.TrajectoryPairsFileName} ({trajectories} trajectory pairs).");
                return 0;
            }
            case "winrate":
            {
                var labels = line.Text("--labels") ?? throw new LabelingException("winrate needs --labels <labels.db or data folder>.");
                var database = Directory.Exists(labels) ? Path.Combine(labels, DatabaseFileName) : labels;
                if (!File.Exists(database)) throw new LabelingException($"The labels database '{Path.GetFullPath(database)}' does not exist.");
                var store = new LabelStore(LabelDatabase.Open(database), 1);
                var report = WinRateReport.From(store.Tallies());
                var outFolder = Path.GetFullPath(line.Text("--out", Path.GetDirectoryName(Path.GetFullPath(database)))!);
                Directory.CreateDirectory(outFolder);
                var markdown = report.ToMarkdown();
                await File.WriteAllTextAsync(Path.Combine(outFolder, "winrate.md"), markdown, cancellationToken);
                WinRateChart.Save(report, Path.Combine(outFolder, "winrate.png"));
                await output.WriteLineAsync(markdown);
                await output.WriteLineAsync($"Wrote {Path.Combine(outFolder, "winrate.md")} and winrate.png.");
                return 0;
            }
            default:
                return await ServeAsync(line, output, cancellationToken);
        }
    }

    private static async Task<int> ServeAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        var data = line.Text("--data", DefaultDataFolder)!;
        var perPair = line.Integer("--annotators-per-pair", 3);
        if (perPair is < 1 or > 1000) throw new LabelingException($"--annotators-per-pair must lie in [1, 1000]; got {perPair}.");
        var port = line.Integer("--port", 5080);
        if (port is < 0 or > 65535) throw new LabelingException($"--port must lie in [0, 65535]; got {port}.");
        var adminToken = line.Text("--admin-token") ?? AnnotatorTokens.Create();
        if (!AnnotatorTokens.IsWellFormed(adminToken)) throw new LabelingException("--admin-token must be 43 URL-safe base64 characters (omit it to get a random one).");

        var store = OpenStore(data, perPair);
        if (line.Text("--prompts") is { } promptsFile)
        {
            var prompts = PromptFile.Read(promptsFile);
            if (store.PairCount() > 0)
                await output.WriteLineAsync($"The database already holds {store.PairCount()} pairs; no new tasks generated (use another --data folder for a new set).");
            else
                await output.WriteLineAsync($"Generated {GenerateTasks(line, prompts, data, store, cancellationToken)} pairs into {Path.GetFullPath(data)}.");
        }
        else if (store.PairCount() == 0)
            throw new LabelingException($"The database in '{Path.GetFullPath(data)}' holds no pairs; give --prompts <file> to generate them.");

        await using var app = LabelingServer.Build(store, data, adminToken, port);
        await app.StartAsync(cancellationToken);
        var address = LabelingServer.Address(app);
        await output.WriteLineAsync($"Labelling app listening on {address}");
        await output.WriteLineAsync($"Admin page: {address}/admin/{adminToken}");
        await output.FlushAsync(cancellationToken);
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    private static int GenerateTasks(CommandLine line, IReadOnlyList<string> prompts, string data, LabelStore store, CancellationToken cancellationToken)
    {
        var model = line.Text("--model", "embedded")!;
        var folder = model == "embedded" ? EmbeddedModel.Folder : model;
        if (!Directory.Exists(folder)) throw new LabelingException($"The model folder '{Path.GetFullPath(folder)}' does not exist; give a diffusers folder or 'embedded'.");
        var options = new TaskGenerationOptions
        {
            Steps = line.Integer("--steps", 20),
            GuidanceScale = line.Real("--cfg", 3.0),
            Eta = line.Real("--eta", 1.0),
            PairsPerPrompt = line.Integer("--pairs-per-prompt", 2),
            Seed = line.Long("--seed", 0),
        };
        StableDiffusionPipeline pipeline;
        try
        {
            pipeline = StableDiffusionPipeline.FromPretrained(folder);
        }
        catch (Exception e) when (e is Core.Errors.TailorPOException or IOException or InvalidDataException)
        {
            throw new LabelingException($"The model folder '{folder}' cannot be loaded: {e.Message}", e);
        }
        using (pipeline)
        {
            var modelName = model == "embedded" ? "embedded" : Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
            var generator = new TaskGenerator(pipeline, modelName, options);
            IReadOnlyList<NewPair> pairs;
            if (line.Text("--lora") is { } lora)
            {
                if (!File.Exists(lora)) throw new LabelingException($"The LoRA file '{Path.GetFullPath(lora)}' does not exist.");
                LoraAdapter adapter;
                try
                {
                    adapter = LoraAdapter.FromFile(pipeline.Unet, lora, "unet.");
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new LabelingException($"The LoRA file '{Path.GetFullPath(lora)}' does not fit the model in '{folder}': {e.Message}", e);
                }
                pairs = generator.ModelPairs(prompts, adapter, Path.GetFileName(lora), data, cancellationToken);
            }
            else
                pairs = generator.TrajectoryPairs(prompts, data, cancellationToken);
            return store.AddPairs(pairs).Count;
        }
    }

    private static LabelStore OpenStore(string data, int perPair) => new(LabelDatabase.Open(Path.Combine(data, DatabaseFileName)), perPair);
}
