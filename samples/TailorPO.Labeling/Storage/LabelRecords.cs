namespace TailorPO.Labeling.Storage;

/// <summary>The kinds of pair: two trajectories from one x_T of one model (D3PO's setting), or model A against model B.</summary>
internal static class PairKinds
{
    /// <summary>Final images of two trajectories from one x_T; each trajectory's latents are stored for D3PO.</summary>
    public const string Trajectory = "trajectory";

    /// <summary>Model A (e.g. the base) against model B (e.g. the aligned LoRA), same prompt and seed.</summary>
    public const string Model = "model";
}

/// <summary>A person with a personal labelling link.</summary>
internal sealed record Annotator(long Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>A pair to store: image files relative to the data folder, optional trajectory files (safetensors) likewise.</summary>
internal sealed record NewPair(string Kind, string Prompt, long Seed, string ImageA, string ImageB, string SourceA, string SourceB,
    string? TrajectoryA = null, string? TrajectoryB = null);

/// <summary>A pair shown to one annotator, with the side image A was put on.</summary>
internal sealed record Assignment(long Id, long PairId, string Prompt, long LeftImageId, long RightImageId, bool AOnLeft);

/// <summary>An annotator's answer about the pair as shown.</summary>
internal enum Answer { Left, Right, Tie, Skip }

/// <summary>What became of a vote.</summary>
internal enum VoteOutcome
{
    /// <summary>Committed.</summary>
    Recorded,
    /// <summary>This assignment already has its vote (votes are never changed); nothing was written.</summary>
    AlreadyVoted,
    /// <summary>The assignment does not exist or belongs to another annotator; nothing was written.</summary>
    NotAssigned,
}

/// <summary>An annotator's progress: votes cast and pairs still open to them.</summary>
internal sealed record LabelProgress(int Done, int Remaining);

/// <summary>A pair with its votes counted by what they chose (A, B, tie, skip).</summary>
internal sealed record PairTally(long PairId, string Kind, string Prompt, long Seed, string ImageA, string ImageB, string SourceA, string SourceB,
    string? TrajectoryA, string? TrajectoryB, int A, int B, int Tie, int Skip)
{
    /// <summary>Votes that compared the images (skips excluded).</summary>
    public int Ratings => A + B + Tie;
}

/// <summary>One stored vote as the export sees it.</summary>
internal sealed record StoredVote(long Id, long AnnotatorId, long PairId, bool AOnLeft, string Answer, string Choice, DateTimeOffset VotedAt);
