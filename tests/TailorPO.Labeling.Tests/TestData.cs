using TailorPO.Labeling.Storage;

namespace TailorPO.Labeling.Tests;

/// <summary>Databases with pairs whose image files hold known bytes (the server serves them as they are).</summary>
internal static class TestData
{
    /// <summary>Opens a store in <paramref name="dataFolder"/> and adds <paramref name="pairs"/> trajectory pairs over two prompts.</summary>
    public static LabelStore StoreWithPairs(string dataFolder, int pairs, int annotatorsPerPair)
    {
        var store = new LabelStore(LabelDatabase.Open(Path.Combine(dataFolder, "labels.db")), annotatorsPerPair);
        Directory.CreateDirectory(Path.Combine(dataFolder, "images"));
        var list = new List<NewPair>();
        for (var i = 0; i < pairs; i++)
        {
            string a = $"images/pair{i}-a.png", b = $"images/pair{i}-b.png";
            File.WriteAllText(Path.Combine(dataFolder, a), $"image {i} a");
            File.WriteAllText(Path.Combine(dataFolder, b), $"image {i} b");
            list.Add(new NewPair(PairKinds.Trajectory, i % 2 == 0 ? "a red circle" : "a blue square, striped", i, a, b, "model", "model",
                $"trajectories/pair{i}-a.safetensors", $"trajectories/pair{i}-b.safetensors"));
        }
        store.AddPairs(list);
        return store;
    }
}
