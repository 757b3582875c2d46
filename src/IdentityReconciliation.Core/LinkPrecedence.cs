namespace IdentityReconciliation;

/// <summary>Whether a contact heads its cluster or is linked to the contact that does.</summary>
public enum LinkPrecedence
{
    /// <summary>The oldest contact of a person: every other contact of the person links to it.</summary>
    Primary = 0,

    /// <summary>A contact linked to the primary contact of its person.</summary>
    Secondary = 1,
}
