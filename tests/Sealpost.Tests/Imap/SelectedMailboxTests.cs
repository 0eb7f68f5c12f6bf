namespace Sealpost.Tests.Imap;

/// <summary>
/// When a session's own write may stand in for a look at the change log: only when its MODSEQ is the
/// one right after what the client knew, so no other session's change (whose news may still be on its
/// way, from another node) can sit in between and be skipped.
/// </summary>
public sealed class SelectedMailboxTests
{
    [Theory]
    [InlineData(5, 6, true, 6)]   // nobody else changed the mailbox: the client now knows up to 6
    [InlineData(5, 7, false, 5)]  // someone else's change is 6: it must still be read and told
    [InlineData(5, 9, false, 5)]
    [InlineData(5, 5, false, 5)]  // nothing new (a write that changed nothing reports the current MODSEQ)
    [InlineData(5, 3, false, 5)]
    [InlineData(0, 1, true, 1)]   // a fresh mailbox's first change
    public void An_own_change_is_absorbed_only_right_after_what_the_client_knew(long known, long own, bool absorbed, long knownAfter)
    {
        var view = new Sealpost.Imap.SelectedMailbox(1, readOnly: false, uidValidity: 1, uids: [1, 2, 3], knownModSeq: known);

        Assert.Equal(absorbed, view.AbsorbOwnChange(own));
        Assert.Equal(knownAfter, view.KnownModSeq);
    }
}
